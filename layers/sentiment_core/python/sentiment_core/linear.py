"""The linear half of a blended model: TF-IDF over word-piece 1-2 grams, then a logistic regression.

It reads every word piece of the review (the transformer sees only its head and tail), from the
same tokenizer pass as the transformer. The pipeline fits it with scikit-learn on exactly these
features (`ngram_keys`); serving needs only NumPy: two arrays, each a file of the artifact with
its sha256 in the manifest.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VOCABULARY_FILE = "linear_vocabulary.npy"  # int32 n-gram keys, sorted (a bigram key stays below 2**31)
WEIGHTS_FILE = "linear_weights.npy"  # float32 [2, n]: idf, then the coefficient of each key
FEATURES = "wordpiece_1_2_grams"


class LinearModelError(ValueError):
    """The linear model's files do not fit together or do not fit the manifest."""


def ngram_keys(pieces: Sequence[int], vocab_size: int) -> list[int]:
    """Unigram and bigram keys of word-piece ids: a unigram is its id; a bigram (a, b) is
    (a + 1) * vocab_size + b, so the two never collide and each fits in an int64."""
    keys = list(pieces)
    keys += [(a + 1) * vocab_size + b for a, b in itertools.pairwise(pieces)]
    return keys


@dataclass(frozen=True)
class LinearModel:
    keys: np.ndarray  # sorted int64
    idf: np.ndarray  # float64, one per key
    coef: np.ndarray  # float64, one per key
    intercept: float
    vocab_size: int

    @classmethod
    def load(cls, model_dir: Path, spec: dict) -> LinearModel:
        """The arrays named by the manifest's `linear` block (their checksums are checked before)."""
        if spec.get("features") != FEATURES:
            raise LinearModelError(
                f"features {spec.get('features')!r} are not served; this code serves {FEATURES}"
            )
        keys = np.load(model_dir / VOCABULARY_FILE, allow_pickle=False)
        weights = np.load(model_dir / WEIGHTS_FILE, allow_pickle=False)
        if keys.ndim != 1 or weights.shape != (2, keys.size) or keys.size != spec.get("features_count"):
            raise LinearModelError(
                f"vocabulary {keys.shape} and weights {weights.shape} do not match "
                f"the manifest's {spec.get('features_count')} features"
            )
        if keys.size > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            raise LinearModelError("vocabulary keys are not sorted and unique")
        return cls(
            keys=keys.astype(np.int64),
            idf=weights[0].astype(np.float64),
            coef=weights[1].astype(np.float64),
            intercept=float(spec["intercept"]),
            vocab_size=int(spec["vocab_size"]),
        )

    def decision(self, pieces: Sequence[int]) -> float:
        """The logistic regression's log-odds of positive: sublinear tf x idf, L2-normalized, as
        scikit-learn's TfidfVectorizer(sublinear_tf=True) computes it; unknown n-grams count for nothing."""
        if not pieces:
            return self.intercept
        found, counts = np.unique(
            np.asarray(ngram_keys(pieces, self.vocab_size), dtype=np.int64), return_counts=True
        )
        index = np.searchsorted(self.keys, found).clip(max=self.keys.size - 1)
        known = self.keys[index] == found
        index, counts = index[known], counts[known]
        if index.size == 0:
            return self.intercept
        weights = (1.0 + np.log(counts)) * self.idf[index]
        return float(weights @ self.coef[index] / np.sqrt(weights @ weights)) + self.intercept

    def save(self, model_dir: Path) -> list[str]:
        """Write the two files; returns their names, for the manifest."""
        if self.keys.size and self.keys[-1] >= 2**31:
            raise LinearModelError("an n-gram key does not fit the vocabulary file's int32")
        np.save(model_dir / VOCABULARY_FILE, self.keys.astype(np.int32), allow_pickle=False)
        np.save(
            model_dir / WEIGHTS_FILE, np.stack([self.idf, self.coef]).astype(np.float32), allow_pickle=False
        )
        return [VOCABULARY_FILE, WEIGHTS_FILE]
