"""The linear half of the blend: the serving arithmetic is scikit-learn's, read back from its files."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from model_export.blend import fit_wordpiece
from sentiment_core.linear import FEATURES, LinearModel, LinearModelError, ngram_keys
from sentiment_core.preprocess import Encoded

VOCAB = 50
RNG = np.random.default_rng(7)


def _corpus(n: int) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """Random word-piece reviews whose label leans on pieces 1-5 (positive) and 6-10 (negative)."""
    docs, labels = [], []
    for _ in range(n):
        label = int(RNG.integers(2))
        pool = np.arange(1, 6) if label else np.arange(6, 11)
        pieces = list(RNG.integers(11, VOCAB, size=int(RNG.integers(5, 40)))) + list(RNG.choice(pool, 3))
        RNG.shuffle(pieces)
        docs.append(tuple(int(p) for p in pieces))
        labels.append(label)
    return docs, np.array(labels)


def _encoded(pieces: tuple[int, ...]) -> Encoded:
    return Encoded(ids=[101, *pieces, 102], truncated=False, n_tokens=len(pieces), pieces=pieces)


def test_ngram_keys_are_unigrams_then_collision_free_bigrams():
    assert ngram_keys((3, 7, 3), VOCAB) == [3, 7, 3, 4 * VOCAB + 7, 8 * VOCAB + 3]
    assert ngram_keys((), VOCAB) == []
    # a bigram starting with piece 0 never collides with a unigram
    assert ngram_keys((0, 0), VOCAB)[2:] == [VOCAB]


def test_serving_decision_equals_scikit_learn_on_the_pipeline_features(tmp_path):
    docs, labels = _corpus(300)
    held_out, _ = _corpus(60)
    linear, difference = fit_wordpiece(
        [_encoded(d) for d in docs], labels, VOCAB, [_encoded(d) for d in held_out]
    )
    assert difference < 1e-9

    vectorizer = TfidfVectorizer(analyzer=lambda p: ngram_keys(p, VOCAB), sublinear_tf=True, min_df=2)
    regression = LogisticRegression(C=30.0, max_iter=2000).fit(vectorizer.fit_transform(docs), labels)
    expected = regression.decision_function(vectorizer.transform(held_out))

    files = linear.save(tmp_path)
    spec = {
        "features": FEATURES,
        "features_count": linear.keys.size,
        "intercept": linear.intercept,
        "vocab_size": VOCAB,
    }
    served = LinearModel.load(tmp_path, spec)
    got = np.array([served.decision(d) for d in held_out])
    assert files == ["linear_vocabulary.npy", "linear_weights.npy"]
    np.testing.assert_allclose(got, expected, atol=1e-5)  # float32 on disk
    assert ((got > 0) == (expected > 0)).all()


def test_a_review_of_unknown_pieces_gets_the_intercept():
    docs, labels = _corpus(100)
    linear, _ = fit_wordpiece([_encoded(d) for d in docs], labels, VOCAB, [])
    assert linear.decision(()) == linear.intercept
    assert linear.decision((VOCAB + 5,)) == linear.intercept


@pytest.mark.parametrize(
    "change, message",
    [
        ({"features": "word_1_2_grams"}, "not served"),
        ({"features_count": 3}, "do not match"),
    ],
)
def test_files_that_do_not_fit_the_manifest_are_refused(tmp_path, change, message):
    docs, labels = _corpus(100)
    linear, _ = fit_wordpiece([_encoded(d) for d in docs], labels, VOCAB, [])
    linear.save(tmp_path)
    spec = {"features": FEATURES, "features_count": linear.keys.size, "intercept": 0.0, "vocab_size": VOCAB}
    with pytest.raises(LinearModelError, match=message):
        LinearModel.load(tmp_path, {**spec, **change})


def test_unsorted_keys_are_refused(tmp_path):
    np.save(tmp_path / "linear_vocabulary.npy", np.array([5, 3], dtype=np.int32))
    np.save(tmp_path / "linear_weights.npy", np.ones((2, 2), dtype=np.float32))
    spec = {"features": FEATURES, "features_count": 2, "intercept": 0.0, "vocab_size": VOCAB}
    with pytest.raises(LinearModelError, match="sorted"):
        LinearModel.load(tmp_path, spec)
