"""Sentence splitters on IMDB train reviews: the plain rule of sentiment_core.sentences beside pysbd and
sentencex, by the sentence ends each one finds (python -m benchmarks.sentence_splitters).

Not part of make bench: pysbd and sentencex are installed only to run this measurement
(`pip install pysbd sentencex`). An end that one splitter finds and both others miss is printed with
its context, to be judged by hand; the counts are in docs/explanations.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import time
from collections.abc import Callable

from benchmarks.common import DATA_DIR
from sentiment_core import sentences


def _ends_of(text: str, pieces: list[str], offset: int) -> set[int]:
    """Where each piece ends in text (trailing space dropped), offset added."""
    ends, cursor = set(), 0
    for piece in pieces:
        piece = piece.strip()
        found = text.find(piece, cursor) if piece else -1
        if found < 0:  # a splitter that changed the text: skip the piece rather than guess
            continue
        cursor = found + len(piece)
        ends.add(offset + cursor)
    return ends


def _per_block(segment: Callable[[str], list[str]]) -> Callable[[str], set[int]]:
    """The other splitters do not know HTML: each gets the text between line breaks, as the rule does."""

    def ends(text: str) -> set[int]:
        found = set()
        for start, end in sentences._blocks(text):
            if text[start:end].strip():
                found |= _ends_of(text[start:end], segment(text[start:end]), start)
        last = max(found, default=0)
        return found - {last}

    return ends


def splitters() -> dict[str, Callable[[str], set[int]]]:
    import pysbd
    import sentencex

    segmenter = pysbd.Segmenter(language="en", clean=False)
    return {
        "plain rule": lambda t: {e for _, e in sentences.split(t)[:-1]},
        "pysbd": _per_block(segmenter.segment),
        "sentencex": _per_block(lambda block: list(sentencex.segment("en", block))),
    }


def train_reviews(n: int, seed: int) -> list[str]:
    with gzip.open(DATA_DIR / "train.csv.gz", "rt", encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    return random.Random(seed).sample(texts, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=15, help="disagreements printed per splitter")
    args = parser.parse_args()
    texts = train_reviews(args.reviews, args.seed)
    found: dict[str, list[set[int]]] = {}
    for name, split in splitters().items():
        started = time.perf_counter()
        found[name] = [split(t) for t in texts]
        ms = (time.perf_counter() - started) * 1000 / len(texts)
        print(f"{name:10} {sum(map(len, found[name])) + len(texts):6} sentences  {ms:.2f} ms a review")
    names = list(found)
    for name in names:
        others = [o for o in names if o != name]
        alone = [
            (i, end)
            for i, ends in enumerate(found[name])
            for end in sorted(ends - found[others[0]][i] - found[others[1]][i])
        ]
        missed = [
            (i, end)
            for i in range(len(texts))
            for end in sorted((found[others[0]][i] & found[others[1]][i]) - found[name][i])
        ]
        print(f"\n== {name}: {len(alone)} ends no other splitter finds, {len(missed)} both others find")
        for i, end in random.Random(args.seed).sample(alone, min(args.show, len(alone))):
            print(f"  only  ...{texts[i][max(0, end - 50) : end]!r} | {texts[i][end : end + 30]!r}")
        for i, end in random.Random(args.seed).sample(missed, min(args.show, len(missed))):
            print(f"  miss  ...{texts[i][max(0, end - 50) : end]!r} | {texts[i][end : end + 30]!r}")


if __name__ == "__main__":
    main()
