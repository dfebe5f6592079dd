"""A side of the comparison as given on the command line: a model directory, or a registry version.

A version is fetched from the registry (ARTIFACTS_BUCKET) and verified as the image build fetches it
(model_registry: every sha256 against the manifest), into build/compare/models/<version>.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sentiment_core.manifest import MANIFEST, SEGMENT
from sentiment_core.settings import REPO_MODEL_DIR

FETCHED = Path("build/compare/models")


class ResolveError(ValueError):
    """Neither a model directory nor a version the registry holds; the message says why."""


def default_name() -> str:
    """The repo artifact's model name: the registry name its versions are published under."""
    try:
        return json.loads((REPO_MODEL_DIR / MANIFEST).read_text())["name"]
    except (OSError, ValueError, KeyError):
        return ""


def resolve(spec: str, name: str | None = None, bucket: str | None = None, into: Path = FETCHED) -> Path:
    """The model directory for `spec`: itself if it is a directory, else that version, fetched."""
    path = Path(spec)
    if path.is_dir():
        return path
    if "/" in spec or not SEGMENT.match(spec):
        raise ResolveError(f"{spec}: no such model directory, and not a registry version")
    from botocore.exceptions import BotoCoreError, ClientError  # boto3 only where the registry is used

    from model_registry.registry import Registry, RegistryError

    bucket = os.environ.get("ARTIFACTS_BUCKET", "") if bucket is None else bucket
    name = name or default_name()
    if not bucket:
        raise ResolveError(
            f"{spec} is not a directory; to fetch it as a registry version set ARTIFACTS_BUCKET"
        )
    try:
        Registry(bucket).fetch(name, spec, into / spec)  # `approved` lands in into/approved
    except (RegistryError, ClientError, BotoCoreError, ValueError) as error:
        raise ResolveError(f"{spec}: cannot fetch {name} {spec} from s3://{bucket}: {error}") from None
    return into / spec
