"""Fit the n-gram head (scoring.ngram_model) on the training windows the encoder is tuned on.

Logistic regression, class-balanced, C fixed before validation was looked at for this head (the
validation split only chooses the blend weight, among BLEND_WEIGHTS). Deterministic (lbfgs).
"""

from __future__ import annotations

import numpy as np

from pipeline_lib.scoring.ngram_model import counts, document_frequency_idf, features

C = 8.0
BLEND_WEIGHTS = (0.0, 0.2, 0.35, 0.5)  # validation picks one; 0 is the encoder head alone


def fit_ngram(texts: list[str], labels: np.ndarray) -> dict:
    """Training windows (idiom-blanked texts) and their labels -> ngram_model's parameters."""
    import torch
    from sklearn.linear_model import LogisticRegression

    x = counts(texts)
    idf = document_frequency_idf(x)
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    model.fit(features(x, idf), np.asarray(labels))
    return {"ngram.idf": torch.from_numpy(idf),
            "ngram.coef": torch.from_numpy(model.coef_[0].astype(np.float32)),
            "ngram.bias": torch.tensor([float(model.intercept_[0])], dtype=torch.float32)}
