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
(under 64 word pieces), both paths, 1 and 2 threads, requests alternating between the paths so
a noisy neighbour slows both alike; part 3 measures why short texts lose (a run's fixed cost).
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
        model_dir = settings.current().model_dir
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
        self.model = SentimentModel(settings.current().model_dir, threads, verify=False)

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
    tokenizer = prepare_tokenizer(Tokenizer.from_file(str(settings.current().model_dir / "tokenizer.json")))
    candidates = [r["text"].split(". ")[0] + "." for r in test_reviews(stride=7)]
    lengths = [len(e.ids) for e in encode_batch(tokenizer, candidates)]
    return [t for t, n_ids in zip(candidates, lengths, strict=True) if 10 <= n_ids < 64][:n]


def throughput(texts: list[str], rounds: int) -> dict:
    """Reviews per second per thread by path, thread count and request size.

    Wall time per thread is what a quiet machine shows; CPU time (every thread of the process,
    spin-waiting included) is the same figure where other processes share the cores. Requests
    alternate between the paths, so a noisy neighbour slows both alike.
    """
    totals: dict[tuple[str, int, int], list[float]] = {}
    latencies: dict[tuple[str, int, int], list[float]] = {}
    for threads in (1, 2):
        paths = {name: make(threads) for name, make in PATHS.items()}
        for path in paths.values():
            path.positive(texts[:8])  # warm-up: arena allocation, thread start
        for _ in range(rounds):
            for batch in (1, REQUEST):
                for start in range(0, len(texts), batch):
                    for name, path in paths.items():
                        wall, cpu = time.perf_counter(), time.process_time()
                        path.positive(texts[start : start + batch])
                        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                        total = totals.setdefault((name, threads, batch), [0.0, 0.0])
                        total[0] += wall
                        total[1] += cpu
                        latencies.setdefault((name, threads, batch), []).append(wall)
    out: dict = {"wall": {}, "cpu": {}, "request_ms_p50": {}}
    for (name, threads, batch), (wall, cpu) in totals.items():
        reviews = len(texts) * rounds
        out["wall"].setdefault(name, {}).setdefault(str(threads), {})[str(batch)] = round(
            reviews / wall / threads, 1
        )
        out["cpu"].setdefault(name, {}).setdefault(str(threads), {})[str(batch)] = round(reviews / cpu, 1)
        out["request_ms_p50"].setdefault(name, {}).setdefault(str(threads), {})[str(batch)] = round(
            statistics.median(latencies[(name, threads, batch)]) * 1000, 1
        )
    for clock in ("wall", "cpu"):
        ratio = out[clock]["per_text_over_batched"] = {}
        for threads in ("1", "2"):
            for batch in ("1", str(REQUEST)):
                ratio.setdefault(threads, {})[batch] = round(
                    out[clock]["per_text"][threads][batch] / out[clock]["batched"][threads][batch], 3
                )
    return out


def run_cost_by_length(lengths: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256)) -> list[dict]:
    """CPU ms per text on one thread, alone vs 16 texts of the same length in one run.

    A run has a fixed cost (some hundred kernel calls, every weight read once) that a batch
    shares: it is what per-text runs lose on short texts, and nothing on long ones.
    """
    session = Batched(1).session
    rng = np.random.default_rng(0)
    rows = []
    for length in lengths:
        cost = {}
        for batch, repeats in ((1, 20), (16, 4)):
            ids = rng.integers(1000, 20000, (batch, length)).astype(np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            session.run(["logits"], feed)
            samples = []
            for _ in range(repeats):
                started = time.thread_time()
                session.run(["logits"], feed)
                samples.append((time.thread_time() - started) * 1000 / batch)
            cost[batch] = statistics.median(samples)
        rows.append(
            {
                "tokens": length,
                "ms_per_text_alone": round(cost[1], 2),
                "ms_per_text_in_16": round(cost[16], 2),
                "alone_over_batched": round(cost[1] / cost[16], 2),
            }
        )
    return rows


def markdown(report: dict) -> str:
    """The report's section on batch invariance (benchmarks/__main__.py appends it to report.md)."""
    inv = report["invariance"]
    lines = [
        "## Same text, same score: alone vs in requests of 64 (1 thread)",
        "",
        "| path | reviews | max change of a probability | changes > 1e-3 | changes > 1e-6 | label flips |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("batched", "per_text"):
        r = inv[name]
        lines.append(
            f"| {name} | {r['reviews']} | {r['max_abs_diff']:.2g} | {r['over_1e-3']} | {r['over_1e-6']} "
            f"| {r['label_flips']} |"
        )
    lines += [
        "",
        "Per-text, 2 threads vs 1 thread alone: max change "
        f"{inv['per_text']['max_abs_diff_2_threads_vs_1_alone']:.2g}.",
        "",
        "## Throughput per thread, batched (old) vs per-text (served) runs, reviews/s",
        "",
        "| texts | clock | threads | request | batched | per-text | per-text / batched |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for texts, by_clock in report["throughput_reviews_per_s_per_thread"].items():
        for clock in ("wall", "cpu"):
            r = by_clock[clock]
            for threads in ("1", "2"):
                for batch in ("1", str(REQUEST)):
                    lines.append(
                        f"| {texts} | {clock} | {threads} | {batch} | {r['batched'][threads][batch]} "
                        f"| {r['per_text'][threads][batch]} | {r['per_text_over_batched'][threads][batch]} |"
                    )
    lines += [
        "",
        "## Latency of a request (wall, p50 ms)",
        "",
        "| texts | threads | request | batched | per-text |",
        "| --- | --- | --- | --- | --- |",
    ]
    for texts, by_clock in report["throughput_reviews_per_s_per_thread"].items():
        r = by_clock["request_ms_p50"]
        for threads in ("1", "2"):
            for batch in ("1", str(REQUEST)):
                old, new = r["batched"][threads][batch], r["per_text"][threads][batch]
                lines.append(f"| {texts} | {threads} | {batch} | {old} | {new} |")
    lines += [
        "",
        "## Why short texts lose: CPU ms per text, alone vs 16 in one run (1 thread)",
        "",
        "| tokens | alone | in 16 | ratio |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['tokens']} | {r['ms_per_text_alone']} | {r['ms_per_text_in_16']} | {r['alone_over_batched']} |"
        for r in report["run_cost_by_length"]
    ]
    return "\n".join(lines) + "\n"


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
        "run_cost_by_length": run_cost_by_length(),
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
    print(json.dumps(report) if args.json else markdown(report))


if __name__ == "__main__":
    main()
