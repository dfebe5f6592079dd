"""What shadow scoring costs the live path: the API handler's latency (event in, response out) at
sample rates 0, 0.1 and 1.0, against the local stack's SQS: moto over HTTP in a process of its own,
as `make run` has it (moto in this process would take the handler's GIL for every send it answers).

    python -m benchmarks.shadow [--reviews 200]

A sampled request costs one queue send after its answer is made; the shadow's own scoring runs in
another function and is not on this path, so it is not started here. The rates take turns request by
request, so a drift of the machine's speed touches them alike. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from benchmarks.common import REPO, handler_environment, percentiles, quiet, spread_texts

RATES = (0.0, 0.1, 1.0)


class Counted:
    """A sender that counts what it sent, so each rate's row says how many requests were sampled."""

    def __init__(self, sender) -> None:
        self.sender, self.sent = sender, 0

    def offer(self, *args) -> bool:
        sent = self.sender.offer(*args)
        self.sent += sent
        return sent


MOTO = """
import logging
import sys
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
from moto.server import ThreadedMotoServer
from local_run.moto_overhead import lighter_moto
with lighter_moto():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
    server.start()
    print("ready", flush=True)
    sys.stdin.read()  # until this benchmark closes the pipe
    server.stop()
"""


@contextlib.contextmanager
def moto_process() -> Iterator[None]:
    """The local stack's moto in its own process, with the template's resources; this process's
    AWS clients point at it until the block ends."""
    from local_run.resources import create_resources

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", MOTO, str(port)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
            }
        )
        resources = create_resources()
        os.environ.update(resources.environment())
        yield resources
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def measure(texts: list[str]) -> dict:
    with moto_process() as resources:
        from functions.api import app
        from local_run.http_api_events import http_api_event
        from local_run.lambda_context import LocalLambdaContext
        from sentiment_core.adapters.shadow_queue import ShadowSender
        from sentiment_core.settings import Settings

        queue = resources.queue_urls["ShadowQueue"]
        senders = {
            rate: Counted(
                ShadowSender(
                    Settings.from_env({"SHADOW_QUEUE_URL": queue, "SHADOW_SAMPLE_RATE": str(rate)}),
                    app.metrics,
                )
            )
            for rate in RATES
        }
        samples: dict[float, list[float]] = {rate: [] for rate in RATES}

        def call(rate: float, text: str) -> float:
            app.shadow = senders[rate]
            body = json.dumps({"text": text}).encode()
            event = http_api_event("POST", "/predict", {"content-type": "application/json"}, body)
            started = time.perf_counter()
            with quiet():
                response = app.lambda_handler(event, LocalLambdaContext(function_name="api"))
            elapsed = (time.perf_counter() - started) * 1000
            assert response["statusCode"] == 200, response
            return elapsed

        for text in texts[:3]:  # warm-up: the first send opens the connection
            for rate in RATES:
                call(rate, text)
        for sender in senders.values():
            sender.sent = 0
        for i, text in enumerate(texts):
            for rate in RATES[i % len(RATES) :] + RATES[: i % len(RATES)]:
                samples[rate].append(call(rate, text))
        return {
            "reviews": len(texts),
            "threads": app.model.threads,
            "by_rate": {
                str(rate): {"sent": senders[rate].sent, "ms_per_call": percentiles(samples[rate])}
                for rate in RATES
            },
        }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shadow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=200)
    args = parser.parse_args()
    handler_environment(threads=1)  # the API as deployed: one vCPU
    print(json.dumps(measure(spread_texts(args.reviews))))


if __name__ == "__main__":
    main()
