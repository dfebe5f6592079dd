"""What the served model costs against the transformer alone (1.1.0): the API handler's warm latency on
the same reviews, and each artifact's size and load time.

    python -m benchmarks.model_versions [--reviews 128] [--rounds 3]

Two API handler processes, one per artifact, take turns review by review (the order alternating), so
both see the same machine at the same moments. Each answers a /predict of one review, timed inside
its own process from event to response. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.common import REPO, percentiles, spread_texts
from model_export.settings import TRANSFORMER_DIR
from sentiment_core import manifest as artifact_manifest
from sentiment_core.model import SentimentModel
from sentiment_core.settings import Settings

# The child: the API handler at module scope, then one line in (a review), one line out (ms), marked
# "@@" apart from the handler's own log lines on the same stdout.
CHILD = """
import json, sys, time
from benchmarks.common import handler_environment, quiet
handler_environment(1)
from functions.api import app
from local_run.http_api_events import http_api_event
from local_run.lambda_context import LocalLambdaContext
print("@@" + json.dumps({"version": app.model.version}), flush=True)
for line in sys.stdin:
    event = http_api_event("POST", "/predict", {"content-type": "application/json"}, line.strip().encode())
    started = time.perf_counter()
    with quiet():
        response = app.lambda_handler(event, LocalLambdaContext(function_name="api"))
    elapsed = (time.perf_counter() - started) * 1000
    assert response["statusCode"] == 200, response
    print("@@" + json.dumps({"ms": elapsed}), flush=True)
"""


class Handler:
    def __init__(self, model_dir: Path) -> None:
        env = {**os.environ, "MODEL_DIR": str(model_dir), "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.version = self._read()["version"]

    def _read(self) -> dict:
        for line in self.process.stdout:
            if line.startswith("@@"):
                return json.loads(line[2:])
        raise RuntimeError("the handler process stopped")

    def predict_ms(self, text: str) -> float:
        self.process.stdin.write(json.dumps({"text": text}) + "\n")
        self.process.stdin.flush()
        return self._read()["ms"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def artifact_figures(model_dir: Path, loads: int = 5) -> dict:
    artifact = artifact_manifest.load(model_dir)
    timings = [SentimentModel(model_dir, threads=1).load_timings for _ in range(loads)]
    return {
        "version": artifact.version,
        "bytes": sum(meta["bytes"] for meta in artifact.manifest["files"].values()),
        "files": {name: meta["bytes"] for name, meta in artifact.manifest["files"].items()},
        "load_ms_median": {
            part: round(statistics.median(getattr(t, part) for t in timings), 2) for part in vars(timings[0])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    served, transformer = Settings.from_env().model_dir, TRANSFORMER_DIR
    handlers = {"served": Handler(served), "transformer": Handler(transformer)}
    texts = spread_texts(args.reviews)
    timings: dict[str, list[float]] = {name: [] for name in handlers}
    for name in handlers:  # warm-up
        for text in texts[:4]:
            handlers[name].predict_ms(text)
    for round_ in range(args.rounds):
        for i, text in enumerate(texts):
            order = list(handlers) if (i + round_) % 2 == 0 else list(reversed(handlers))
            for name in order:
                timings[name].append(handlers[name].predict_ms(text))
    versions = {name: handler.version for name, handler in handlers.items()}
    for handler in handlers.values():
        handler.close()
    latency = {name: percentiles(ms) for name, ms in timings.items()}
    artifacts = {"served": artifact_figures(served), "transformer": artifact_figures(transformer)}
    print(
        json.dumps(
            {
                "reviews": len(texts),
                "rounds": args.rounds,
                "versions": versions,
                "api_ms": latency,
                "p50_ratio_served_over_transformer": round(
                    latency["served"]["p50"] / latency["transformer"]["p50"], 3
                ),
                "artifacts": artifacts,
                # The image differs only in /opt/model: this is what the image gains or loses.
                "image_bytes_difference": artifacts["served"]["bytes"] - artifacts["transformer"]["bytes"],
            }
        )
    )


if __name__ == "__main__":
    main()
