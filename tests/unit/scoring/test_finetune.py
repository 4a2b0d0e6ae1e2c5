"""Fine-tuning the ensemble's members: deterministic, whichever process trains a member."""

import numpy as np
import pytest
import torch

from pipeline_lib.scoring.train import finetune


@pytest.fixture(scope="module")
def tiny_set():
    from pipeline_lib.scoring.crisis_cues import N_CUE_FEATURES
    from pipeline_lib.scoring.encoder import SentenceEncoder

    g = torch.Generator().manual_seed(3)
    states = [torch.randn(int(n), 384, generator=g) for n in torch.randint(3, 9, (12,), generator=g)]
    cues = torch.rand(12, N_CUE_FEATURES, generator=g).numpy()
    return dict(states=states, cue_features=cues, y=np.array([0, 1] * 6),
                init_top=SentenceEncoder.load().top)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_members_are_the_same_in_one_process_or_several(tiny_set, monkeypatch):
    monkeypatch.setattr(finetune, "BATCH", 4)  # several steps per epoch on 12 texts
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        alone = finetune.fine_tune_members(**tiny_set, seeds=(5, 6), workers=1)
        parallel = finetune.fine_tune_members(**tiny_set, seeds=(5, 6), workers=2)
    finally:
        torch.set_num_threads(threads)
    assert sorted(alone) == sorted(parallel) == list(finetune.CANDIDATE_EPOCHS)
    for epoch in finetune.CANDIDATE_EPOCHS:
        assert all(_same(a, b) for a, b in zip(alone[epoch], parallel[epoch]))
    first, second = alone[finetune.CANDIDATE_EPOCHS[-1]]
    assert not torch.equal(first["head.weight"], second["head.weight"])  # the seeds differ
    assert torch.equal(first["cue.mean"], second["cue.mean"])  # the shared part does not
