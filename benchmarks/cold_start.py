"""Cold start: a fresh process from start to first prediction, split into its parts; the same for a
torch + transformers process serving the same model, for the ratio.

    python -m benchmarks.cold_start [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from benchmarks.common import run_json

SERVICE_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy, onnxruntime, tokenizers
t1 = time.perf_counter()
import aws_lambda_powertools.event_handler, pydantic
t2 = time.perf_counter()
from sentiment_core.model import get_model
model = get_model()
t3 = time.perf_counter()
model.predict(["The movie was amazing!"])
t4 = time.perf_counter()
print(json.dumps({"imports_ms": (t1 - t0) * 1000, "powertools_ms": (t2 - t1) * 1000,
                  "model_load_ms": (t3 - t2) * 1000, "first_prediction_ms": (t4 - t3) * 1000,
                  **{f"load_{k}": v for k, v in vars(model.load_timings).items()},
                  "to_first_prediction_ms": (t4 - t0) * 1000,
                  "torch_imported": "torch" in sys.modules}))
"""

TORCH_PROBE = r"""
import json, time
t0 = time.perf_counter()
import torch, transformers
t1 = time.perf_counter()
from benchmarks.reference_models import pytorch_model
from model_export.modeling import load_base_tokenizer
from sentiment_core.preprocess import encode_batch, pad_batch
torch.set_num_threads(1)
model, _ = pytorch_model()
tokenizer = load_base_tokenizer()
t2 = time.perf_counter()
ids, mask = pad_batch(encode_batch(tokenizer, ["The movie was amazing!"]))
with torch.inference_mode():
    model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
t3 = time.perf_counter()
print(json.dumps({"imports_ms": (t1 - t0) * 1000, "model_load_ms": (t2 - t1) * 1000,
                  "first_prediction_ms": (t3 - t2) * 1000, "to_first_prediction_ms": (t3 - t0) * 1000}))
"""


def median_run(probe: str, runs: int) -> dict:
    """Each part's median over `runs` fresh interpreters (1 inference thread, as at 1,769 MB)."""
    results = [run_json(["-c", probe], env={"INFERENCE_THREADS": "1"}) for _ in range(runs)]
    return {
        key: round(statistics.median(r[key] for r in results), 1)
        if isinstance(results[0][key], float)
        else results[0][key]
        for key in results[0]
    } | {"runs": runs}


def cold_start(runs: int) -> dict:
    service = median_run(SERVICE_PROBE, runs)
    torch = median_run(TORCH_PROBE, max(3, runs // 2))
    return {
        "service": service,
        "torch_transformers": torch,
        "torch_over_service": round(torch["to_first_prediction_ms"] / service["to_first_prediction_ms"], 2),
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(cold_start(parser.parse_args().runs)))


if __name__ == "__main__":
    main()
