"""IMDB loading and the seeded train/validation split."""

from __future__ import annotations

import csv
import gzip
import random
from dataclasses import dataclass
from pathlib import Path

from model_export import settings


@dataclass(frozen=True)
class Review:
    id: str
    label: int
    text: str


def load_reviews(path: Path) -> list[Review]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return [Review(row["id"], int(row["label"]), row["text"]) for row in csv.DictReader(f)]


def train_validation_split(
    reviews: list[Review], seed: int = settings.SEED
) -> tuple[list[Review], list[Review]]:
    """Stratified split of the train file: validation is for model selection, never test."""
    rng = random.Random(seed)
    train: list[Review] = []
    validation: list[Review] = []
    for label in (0, 1):
        group = [r for r in reviews if r.label == label]
        rng.shuffle(group)
        n_val = round(len(group) * settings.VALIDATION_FRACTION)
        validation += group[:n_val]
        train += group[n_val:]
    rng.shuffle(train)
    return train, validation


def length_bucketed_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices shuffled, then sorted by length inside windows of 50 batches so padding stays small."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches
