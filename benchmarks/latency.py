"""Warm latency of the API handler (event in, response out), and of what it is compared with.

    python -m benchmarks.latency --threads 1 [--reviews 100] [--compare]

Prints one JSON object. One process per thread count: onnxruntime's pool is sized
when the session is created. --compare adds, on the same reviews at batch 1, the bare
int8 session, fp32 ONNX, the PyTorch model and the TF-IDF baseline.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from benchmarks.common import handler_environment, percentiles, quiet, spread_texts

BATCH_SIZES = (1, 8, 32, 64)


def _per_review(calls_ms: list[float], batch: int) -> dict:
    return {
        "batch": batch,
        "calls": len(calls_ms),
        "ms_per_call": percentiles(calls_ms),
        "reviews_per_s": round(batch * len(calls_ms) / (sum(calls_ms) / 1000), 1),
    }


def _time_each(fn: Callable, inputs: list, warmup: int = 2) -> list[float]:
    for item in inputs[:warmup]:
        fn(item)
    out = []
    for item in inputs:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def handler_latency(texts: list[str]) -> dict:
    from functions.api import app
    from local_run.http_api_events import http_api_event
    from local_run.lambda_context import LocalLambdaContext

    def call(body: dict) -> None:
        event = http_api_event(
            "POST", "/predict", {"content-type": "application/json"}, json.dumps(body).encode()
        )
        with quiet():
            response = app.lambda_handler(event, LocalLambdaContext(function_name="api"))
        assert response["statusCode"] == 200, response

    results = {}
    for batch in BATCH_SIZES:
        # Every review once (at least 4 calls), cycling through them for the large batches.
        calls = max(4, len(texts) // batch)
        bodies = [
            {"text": texts[i]}
            if batch == 1
            else {"texts": [texts[(i * batch + j) % len(texts)] for j in range(batch)]}
            for i in range(calls)
        ]
        results[str(batch)] = _per_review(_time_each(call, bodies), batch)
    return {"threads": app.model.threads, "by_batch": results}


def runtime_comparison(texts: list[str]) -> dict:
    """Batch 1, the same reviews and word pieces for every runtime; PyTorch gets one thread too."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from benchmarks import reference_models
    from functions.api import app
    from sentiment_core.preprocess import encode_batch, pad_batch

    model = app.model
    encoded = encode_batch(model.tokenizer, texts)
    feeds = [
        dict(zip(("input_ids", "attention_mask"), pad_batch([e], model.pad_id), strict=True)) for e in encoded
    ]

    fp32_path, fp32_source = reference_models.fp32_onnx()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    fp32 = ort.InferenceSession(str(fp32_path), options, providers=["CPUExecutionProvider"])
    torch.set_num_threads(1)
    pytorch, pytorch_source = reference_models.pytorch_model()
    tfidf = reference_models.tfidf_classifier()

    def torch_forward(feed: dict) -> None:
        with torch.inference_mode():
            pytorch(**{k: torch.from_numpy(v) for k, v in feed.items()})

    timings = {
        "int8_session": _time_each(lambda f: model.session.run(["logits"], f), feeds),
        "fp32_onnx": _time_each(lambda f: fp32.run(["logits"], f), feeds),
        "pytorch": _time_each(torch_forward, feeds),
        "tfidf_logreg": _time_each(lambda t: tfidf.predict_proba([t]), texts),
    }
    summary = {name: percentiles(ms) for name, ms in timings.items()}
    return {
        "reviews": len(texts),
        "median_tokens": int(np.median([len(e.ids) for e in encoded])),
        "sources": {"fp32_onnx": fp32_source, "pytorch": pytorch_source},
        "ms": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--reviews", type=int, default=128)
    parser.add_argument("--compare", action="store_true", help="also time the other runtimes (1 thread)")
    args = parser.parse_args()
    handler_environment(args.threads)
    texts = spread_texts(args.reviews)
    report = {"handler": handler_latency(texts)}
    if args.compare:
        report["runtimes"] = runtime_comparison(texts)
        handler_p50 = report["handler"]["by_batch"]["1"]["ms_per_call"]["p50"]
        report["runtimes"]["ms"]["api_handler"] = report["handler"]["by_batch"]["1"]["ms_per_call"]
        report["runtimes"]["x_of_handler_p50"] = {
            name: round(ms["p50"] / handler_p50, 2) for name, ms in report["runtimes"]["ms"].items()
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
