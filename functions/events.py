"""One event per finished file or job on the stack's bus, for whoever subscribes (docs/batch.md)."""

from __future__ import annotations

import functools
import json

import boto3

from sentiment_core.settings import current

EVENT_SOURCE = "imdb-sentiment"  # detail types: Batch file scored|failed, Job done|failed


@functools.cache
def _events():  # made on first use: importing this module needs no AWS configuration
    return boto3.client("events")


def publish(detail_type: str, detail: dict) -> None:
    _events().put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "EventBusName": current().event_bus_name,
                "Detail": json.dumps(detail),
            }
        ]
    )
