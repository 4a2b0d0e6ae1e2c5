"""The crisis classifier's second view of a window: hashed word and character n-grams, one linear head.

The fine-tuned encoder reads meaning and blurs the surface: a sport's "killed it", a game's "dead",
slang spelled many ways, the exact words of a resolved past. Word 1-2-grams and character 3-5-grams
read exactly that surface. crisis_model.probability blends the two logits; the blend weight is
chosen on validation (0 turns this view off).

    counts(text)  = hashed n-gram counts, 2 x N_FEATURES (words, then characters)
    features      = l2-normalised (1 + log count) x idf
    logit         = features . ngram.coef + ngram.bias

Hashing keeps no vocabulary (nothing to store but two vectors and a bias) and is the same
function at training and serving time. Parameters (float32 torch tensors, in the crisis dict):
`ngram.idf`, `ngram.coef` (2 x N_FEATURES,), `ngram.bias` (1,).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

N_FEATURES = 2 ** 17  # per view; collisions are rare at a few thousand training windows
PARAM_NAMES = ("ngram.idf", "ngram.coef", "ngram.bias")


@lru_cache(maxsize=1)
def _vectorizers():
    from sklearn.feature_extraction.text import HashingVectorizer

    common = dict(n_features=N_FEATURES, alternate_sign=False, norm=None, dtype=np.float32)
    return (HashingVectorizer(ngram_range=(1, 2), **common),
            HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common))


def counts(texts: list[str]):
    """(n, 2 * N_FEATURES) sparse counts: words, then characters."""
    from scipy.sparse import hstack

    return hstack([v.transform(texts) for v in _vectorizers()]).tocsr()


def document_frequency_idf(x) -> np.ndarray:
    """Smoothed idf from training counts (as scikit-learn's TfidfTransformer computes it)."""
    n = x.shape[0]
    df = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float64)
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def features(x, idf: np.ndarray):
    """Counts -> sublinear tf-idf rows of unit length."""
    x = x.astype(np.float32, copy=True)
    x.data = 1.0 + np.log(x.data)
    x = x.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return x.multiply(1.0 / norms[:, None]).tocsr()


def ngram_logits(params: dict, texts: list[str]) -> np.ndarray:
    """(n,) logits of the n-gram head for texts (the encoder's idiom-blanked window texts)."""
    idf = params["ngram.idf"].numpy()
    z = features(counts(texts), idf) @ params["ngram.coef"].numpy()
    return np.asarray(z, dtype=np.float64).ravel() + float(params["ngram.bias"][0])
