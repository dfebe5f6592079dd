"""Shadow scoring in the local run: `SHADOW_MODEL_DIR=<artifact> make run`.

The candidate takes the path it takes to AWS: published to the run's registry bucket (moto) and
fetched back, every sha256 verified, as `make fetch-shadow-model` does before the image build. Its
version becomes SHADOW_MODEL_VERSION (the ShadowModelVersion parameter, unless set already), which
turns the template's ShadowScoringOn condition, and with it the API's sampling, on.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from local_run.functions import FunctionPool
from local_run.pollers import SqsPoller
from local_run.resources import Resources
from sentiment_core import manifest

log = logging.getLogger(__name__)
NAME = "shadow"
MODULE = "functions.shadow.app"


def candidate_from_registry(bucket: str) -> Path | None:
    """The verified copy of $SHADOW_MODEL_DIR, fetched from the local registry; None without one."""
    source = os.environ.get("SHADOW_MODEL_DIR")
    if not source:
        return None
    from model_registry.registry import Registry, RegistryError

    try:
        registry = Registry(bucket)
        entry = registry.publish(Path(source))
        fetched = Path(tempfile.mkdtemp(prefix="shadow-model-")) / entry.version
        registry.fetch(entry.name, entry.version, fetched)
    except (RegistryError, manifest.ArtifactError) as error:
        raise SystemExit(f"SHADOW_MODEL_DIR={source}: not a usable candidate: {error}") from None
    os.environ.setdefault("SHADOW_MODEL_VERSION", entry.version)
    os.environ["SHADOW_MODEL_DIR"] = str(fetched)
    return fetched


def start(resources: Resources, environment: dict[str, str]) -> tuple[FunctionPool, SqsPoller]:
    """The shadow function and its queue's poller. A candidate that fails to load leaves the live run
    serving: each sampled message then fails, and after its second receive lands in the dead letters."""
    pool = FunctionPool(NAME, MODULE, 1, {**environment, **resources.environment(NAME)})
    try:
        pool.warm()
    except Exception as error:
        log.error(
            "the shadow function failed to start (%s): sampled requests will go to its dead letters", error
        )
    return pool, SqsPoller(resources.queue_urls["ShadowQueue"], pool, NAME)
