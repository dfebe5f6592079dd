"""Warm API handler time vs the bare onnxruntime session on the same tokens, and process start to ready.

python -m benchmarks.handler_overhead [--reviews 200]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time

from benchmarks.common import REPO, percentiles, test_reviews

COLD_START_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import onnxruntime, tokenizers, numpy
t1 = time.perf_counter()
import aws_lambda_powertools.event_handler, pydantic
t2 = time.perf_counter()
from sentiment_core.model import get_model
model = get_model()
t3 = time.perf_counter()
model.predict(["The movie was amazing!"])
t4 = time.perf_counter()
print(json.dumps({"import_runtime_ms": (t1 - t0) * 1000, "import_powertools_ms": (t2 - t1) * 1000,
                  "model_load_ms": (t3 - t2) * 1000, "first_prediction_ms": (t4 - t3) * 1000,
                  "load": vars(model.load_timings),
                  "torch_imported": "torch" in sys.modules,
                  "transformers_imported": "transformers" in sys.modules}))
"""


def cold_start(runs: int = 5) -> dict:
    """Fresh interpreter to first prediction, median of `runs`, split into its parts."""
    env = {**os.environ, "INFERENCE_THREADS": "1"}
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD_START_PROBE],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=REPO,
        ).stdout
        total = (time.perf_counter() - start) * 1000
        results.append({**json.loads(out.strip().splitlines()[-1]), "process_total_ms": total})
    results.sort(key=lambda r: r["process_total_ms"])
    median = results[len(results) // 2]
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in median.items()} | {"runs": runs}


def warm_overhead(n_reviews: int) -> dict:
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ImdbSentiment")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ["INFERENCE_THREADS"] = "1"
    from functions.api import app
    from local_run.http_api_events import http_api_event
    from local_run.lambda_context import LocalLambdaContext
    from sentiment_core.preprocess import encode_batch, pad_batch

    model = app.model
    # IMDB-length reviews: the middle of the token-length distribution (median ~230 word pieces).
    rows = test_reviews(stride=25)
    encoded = encode_batch(model.tokenizer, [r["text"] for r in rows])
    by_length = sorted(range(len(rows)), key=lambda i: encoded[i].n_tokens)
    middle = by_length[len(by_length) // 2 - n_reviews // 2 :][:n_reviews]
    texts = [rows[i]["text"] for i in middle]
    feeds = [dict(zip(("input_ids", "attention_mask"), pad_batch([encoded[i]]), strict=True)) for i in middle]
    events = [
        http_api_event(
            "POST", "/predict", {"content-type": "application/json"}, json.dumps({"text": t}).encode()
        )
        for t in texts
    ]

    def run_handler(event):
        with contextlib.redirect_stdout(io.StringIO()):  # EMF and logs go to stdout, as in Lambda
            response = app.lambda_handler(event, LocalLambdaContext(function_name="api"))
        assert response["statusCode"] == 200

    handler_ms, session_ms = [], []
    for _ in range(3):
        run_handler(events[0])
        model.session.run(["logits"], feeds[0])
    for event, feed in zip(events, feeds, strict=True):  # interleaved, so drift hits both alike
        start = time.perf_counter()
        run_handler(event)
        handler_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        model.session.run(["logits"], feed)
        session_ms.append((time.perf_counter() - start) * 1000)
    handler, session = percentiles(handler_ms), percentiles(session_ms)
    return {
        "reviews": len(texts),
        "threads": 1,
        "median_tokens": sorted(encoded[i].n_tokens for i in middle)[len(middle) // 2],
        "handler_ms": handler,
        "bare_session_ms": session,
        "handler_over_session_p50": round(handler["p50"] / session["p50"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()
    report = {"cold_start": cold_start(args.cold_runs), "warm": warm_overhead(args.reviews)}
    print(json.dumps(report, indent=2))
    warm = report["warm"]
    handler, session = warm["handler_ms"]["p50"], warm["bare_session_ms"]["p50"]
    print(
        f"\nwarm p50: handler {handler} ms vs bare session {session} ms = {warm['handler_over_session_p50']}x"
        f" ({warm['reviews']} reviews, ~{warm['median_tokens']} tokens, 1 thread)"
    )
    cold = report["cold_start"]
    print(
        f"process start to first prediction: {cold['process_total_ms']} ms (median of {cold['runs']}); "
        f"torch imported: {cold['torch_imported']}, transformers imported: {cold['transformers_imported']}"
    )


if __name__ == "__main__":
    main()
