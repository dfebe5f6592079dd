"""A handler for the local run's worker tests: reports its time left, or runs for as long as asked."""

from __future__ import annotations

import os
import time


def lambda_handler(event: dict, context) -> dict:
    time.sleep(event.get("sleep_s", 0))
    return {"remaining_ms": context.get_remaining_time_in_millis(), "pid": os.getpid()}
