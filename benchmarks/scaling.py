"""How inference time grows with input length and batch size (bare int8 session, real review tokens).

python -m benchmarks.scaling --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.common import handler_environment, spread_texts
from sentiment_core import settings

LENGTHS = (64, 128, 256, 512)
BATCHES = (1, 8, 32)


def scaling(threads: int) -> dict:
    import onnxruntime as ort

    from sentiment_core.model import get_model, session_options

    model = get_model()
    # The service runs one intra-op thread per text; this curve shows what intra-op threads do to one run.
    options = session_options()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(settings.current().model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )
    tokenizer = model.tokenizer
    sep = tokenizer.token_to_id("[SEP]")
    # Reviews long enough for the longest length, cut to each length (the service itself stops at 256).
    long_ids = [e.ids for e in tokenizer.encode_batch(spread_texts(2000)) if len(e.ids) >= max(LENGTHS)]
    rows = []
    for length in LENGTHS:
        for batch in BATCHES:
            ids = np.array([[*seq[: length - 1], sep] for seq in long_ids[:batch]], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            session.run(["logits"], feed)
            calls = []
            for _ in range(max(3, 48 // batch)):
                start = time.perf_counter()
                session.run(["logits"], feed)
                calls.append(time.perf_counter() - start)
            ms = statistics.median(calls) * 1000
            rows.append(
                {
                    "tokens": length,
                    "batch": batch,
                    "ms_per_call": round(ms, 2),
                    "ms_per_review": round(ms / batch, 2),
                    "reviews_per_s": round(batch * 1000 / ms, 1),
                }
            )
    return {"threads": threads, "runtime": "int8 onnxruntime session", "points": rows}


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_length, by_batch) = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = [  # axes, one line per value of `series`, x and y keys
        (by_length, "batch", BATCHES, "tokens", "ms_per_review", "batch {}"),
        (by_batch, "tokens", LENGTHS, "batch", "reviews_per_s", "{} tokens"),
    ]
    for result in results:
        threads = result["threads"]
        for ax, series, values, x, y, name in panels:
            for value in values:
                points = [p for p in result["points"] if p[series] == value]
                ax.plot(
                    [p[x] for p in points],
                    [p[y] for p in points],
                    marker="o",
                    linestyle="-" if threads == 1 else "--",
                    label=f"{name.format(value)}, {threads} thread{'s' * (threads > 1)}",
                )
    by_length.set(xlabel="tokens per review", ylabel="ms per review", title="Time grows with length")
    by_length.set_xscale("log", base=2)
    by_length.set_xticks(LENGTHS, [str(n) for n in LENGTHS])
    by_batch.set(xlabel="reviews per call (batch)", ylabel="reviews per second", title="Batching")
    by_batch.set_xscale("log", base=2)
    by_batch.set_xticks(BATCHES, [str(n) for n in BATCHES])
    for ax in (by_length, by_batch):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("int8 MiniLM, onnxruntime CPU (measured by `make bench`)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    handler_environment(args.threads)
    print(json.dumps(scaling(args.threads)))


if __name__ == "__main__":
    main()
