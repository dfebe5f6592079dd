"""`python -m local_run`: the whole service on this machine (what `make run` starts).

PORT (default 3000) serves the HTTP API; LOCAL_AWS_PORT (default 5000) is the
moto server standing in for S3, SQS and DynamoDB.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from local_run.stack import LocalStack


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOCAL_RUN_LOG_LEVEL", "WARNING"), format="%(asctime)s %(name)s %(message)s"
    )
    stack = LocalStack(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "3000")),
        aws_port=int(os.environ.get("LOCAL_AWS_PORT", "5000")),
    )
    stack.start()
    print(stack.banner(), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    stack.stop()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
