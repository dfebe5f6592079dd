"""Does a review's score depend on its neighbours, and what does scoring each text alone cost?

    python -m benchmarks.batch_invariance [--reviews 640] [--json]

Two serving paths on the committed model, in one process:
- "batched", the core before per-text runs: texts sorted by length, padded mini-batches of at
  most 64 texts and 512 padded word pieces, one session using every thread inside a run;
- "per-text", the core now (`SentimentModel.predict`): each text runs alone, unpadded, on one
  intra-op thread, `threads` texts at a time.

Part 1 scores random test reviews alone and in requests of 64 on each path: the largest change
of a positive probability, how many move by more than 1e-3, label flips.
Part 2 measures throughput per thread at batch 1 and 64 for IMDB-length reviews and short texts
(under 64 word pieces), both paths, 1 and 2 threads, rounds alternating between the paths so a
noisy neighbour slows both alike.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from benchmarks.common import spread_texts, test_reviews
from sentiment_core import settings
from sentiment_core.model import SentimentModel
from sentiment_core.preprocess import encode_batch, pad_batch, prepare_tokenizer

REQUEST = 64
OLD_MAX_ROWS = 64
OLD_MAX_TOKENS = 512


def mini_batches(lengths: list[int], max_rows: int, max_tokens: int) -> list[np.ndarray]:
    """The old grouping: indices shortest first, each group padded to at most `max_tokens`."""
    groups: list[list[int]] = []
    for i in np.argsort(lengths, kind="stable").tolist():
        if not groups or len(groups[-1]) == max_rows or (len(groups[-1]) + 1) * lengths[i] > max_tokens:
            groups.append([])
        groups[-1].append(i)
    return [np.array(g) for g in groups]


class Batched:
    """The core's old predict: length-sorted padded mini-batches, intra-op threads."""

    def __init__(self, threads: int) -> None:
        model_dir = settings.model_dir()
        self.tokenizer = prepare_tokenizer(Tokenizer.from_file(str(model_dir / "tokenizer.json")))
        self.pad_id = self.tokenizer.token_to_id("[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def positive(self, texts: list[str]) -> np.ndarray:
        encoded = encode_batch(self.tokenizer, texts)
        out = np.empty(len(texts))
        for idx in mini_batches([len(e.ids) for e in encoded], OLD_MAX_ROWS, OLD_MAX_TOKENS):
            input_ids, attention_mask = pad_batch([encoded[i] for i in idx], self.pad_id)
            logits = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[
                0
            ].astype(np.float64)
            out[idx] = 1 / (1 + np.exp(logits[:, 0] - logits[:, 1]))
        return out


class PerText:
    """The core as served now."""

    def __init__(self, threads: int) -> None:
        self.model = SentimentModel(settings.model_dir(), threads, verify=False)

    def positive(self, texts: list[str]) -> np.ndarray:
        return np.array([p.probabilities["positive"] for p in self.model.predict(texts)])


PATHS: dict[str, Callable[[int], Batched | PerText]] = {"batched": Batched, "per_text": PerText}


def in_requests(path: Batched | PerText, texts: list[str], size: int) -> np.ndarray:
    return np.concatenate([path.positive(texts[i : i + size]) for i in range(0, len(texts), size)])


def invariance(texts: list[str]) -> dict:
    """Alone vs in requests of 64 on each path (1 thread); per-text also at 2 threads."""
    out = {}
    for name, make in PATHS.items():
        path = make(1)
        alone = in_requests(path, texts, 1)
        grouped = in_requests(path, texts, REQUEST)
        diff = np.abs(alone - grouped)
        out[name] = {
            "max_abs_diff": float(diff.max()),
            "over_1e-3": int((diff > 1e-3).sum()),
            "over_1e-6": int((diff > 1e-6).sum()),
            "label_flips": int(((alone >= 0.5) != (grouped >= 0.5)).sum()),
            "reviews": len(texts),
        }
        if name == "per_text":
            two = in_requests(make(2), texts, REQUEST)
            out[name]["max_abs_diff_2_threads_vs_1_alone"] = float(np.abs(two - alone).max())
    return out


def short_texts(n: int) -> list[str]:
    """Opening sentences of test reviews, 8 to 63 word pieces: the length of a tweet or a one-liner."""
    tokenizer = prepare_tokenizer(Tokenizer.from_file(str(settings.model_dir() / "tokenizer.json")))
    candidates = [r["text"].split(". ")[0] + "." for r in test_reviews(stride=7)]
    lengths = [len(e.ids) for e in encode_batch(tokenizer, candidates)]
    return [t for t, n_ids in zip(candidates, lengths, strict=True) if 10 <= n_ids < 64][:n]


def throughput(texts: list[str], rounds: int) -> dict:
    """Reviews per second per thread, median over rounds, by path, thread count and request size."""
    samples: dict[tuple[str, int, int], list[float]] = {}
    for threads in (1, 2):
        paths = {name: make(threads) for name, make in PATHS.items()}
        for path in paths.values():
            path.positive(texts[:8])  # warm-up: arena allocation, thread start
        for _ in range(rounds):
            for batch in (1, REQUEST):
                for name, path in paths.items():
                    started = time.perf_counter()
                    in_requests(path, texts, batch)
                    seconds = time.perf_counter() - started
                    samples.setdefault((name, threads, batch), []).append(len(texts) / seconds / threads)
    out: dict = {}
    for (name, threads, batch), per_thread in samples.items():
        out.setdefault(name, {}).setdefault(str(threads), {})[str(batch)] = round(
            statistics.median(per_thread), 1
        )
    for threads in ("1", "2"):
        for batch in ("1", str(REQUEST)):
            out.setdefault("per_text_over_batched", {}).setdefault(threads, {})[batch] = round(
                out["per_text"][threads][batch] / out["batched"][threads][batch], 3
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reviews", type=int, default=640, help="random test reviews for part 1")
    parser.add_argument("--speed-texts", type=int, default=128, help="texts per throughput measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args()

    reviews = [r["text"] for r in test_reviews()]
    sample = random.Random(args.seed).sample(reviews, args.reviews)
    imdb = spread_texts(args.speed_texts)
    short = short_texts(args.speed_texts)
    tokenizer = PerText(1).model.tokenizer
    report = {
        "invariance": invariance(sample),
        "throughput_reviews_per_s_per_thread": {
            "imdb": throughput(imdb, args.rounds),
            "short": throughput(short, args.rounds),
        },
        "texts": {
            "imdb_mean_word_pieces": round(
                statistics.fmean(len(e.ids) for e in encode_batch(tokenizer, imdb)), 1
            ),
            "short_mean_word_pieces": round(
                statistics.fmean(len(e.ids) for e in encode_batch(tokenizer, short)), 1
            ),
            "speed_texts": len(imdb),
        },
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
