import numpy as np
import pytest

from pipeline_lib.scoring.crisis_model import blended_probability
from pipeline_lib.scoring.ngram_model import counts, document_frequency_idf, features, ngram_logits
from pipeline_lib.scoring.train.ngram import fit_ngram

TRAIN = ["nobody would miss me if i was gone", "we smashed it at the match, killed it",
         "i've saved up my tablets for tonight", "my phone battery is dead again",
         "i keep thinking about walking into the river", "that film was so sad i cried"]


def test_features_are_unit_rows_with_scikit_learns_idf():
    from sklearn.feature_extraction.text import TfidfTransformer

    x = counts(TRAIN)
    idf = document_frequency_idf(x)
    reference = TfidfTransformer(sublinear_tf=True).fit(x)
    assert np.allclose(idf, reference.idf_, rtol=1e-5)
    f = features(x, idf)
    assert np.allclose(np.sqrt(f.multiply(f).sum(axis=1)).A.ravel(), 1.0, atol=1e-5)
    assert np.allclose(f.toarray(), reference.transform(x).toarray(), atol=1e-5)


def test_the_head_reads_the_words_and_is_deterministic():
    labels = np.array([1, 0, 1, 0, 1, 0])
    a, b = fit_ngram(TRAIN, labels), fit_ngram(TRAIN, labels)
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    z = ngram_logits(a, ["i saved my tablets for tonight", "the battery of my phone is dead"])
    assert z[0] > 0 > z[1]
    assert ngram_logits(a, [""])[0] == pytest.approx(float(a["ngram.bias"][0]))  # no n-gram: the bias


def test_the_blend_weight_moves_from_one_head_to_the_other():
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    assert blended_probability(2.0, -3.0, 0.0) == pytest.approx(sigmoid(2.0))
    assert blended_probability(2.0, -3.0, 1.0) == pytest.approx(sigmoid(-3.0))
    assert blended_probability(2.0, -3.0, 0.5) == pytest.approx(sigmoid(-0.5))
