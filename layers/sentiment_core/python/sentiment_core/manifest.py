"""The model artifact's contract: manifest.json written, validated and read here, and nowhere else.

Used by serving (model.py), the registry (model_registry) and the pipeline that builds the artifact
(model_export). Standard library only, so `model_registry` runs on any Python (a CI step without the
project installed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# Written next to a fetched artifact (not part of the manifest): where it came from. The image carries it
# to /opt/model, and the API's /health reports it.
PROVENANCE = "registry.json"
# Names and versions become S3 key segments: no slashes, nothing that needs escaping.
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
CHUNK = 1 << 20


class ArtifactError(ValueError):
    """The artifact on disk is incomplete or does not match its manifest."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    manifest: dict
    manifest_bytes: bytes

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def files(self) -> dict[str, str]:
        """File name -> sha256, as the manifest states."""
        return {name: meta["sha256"] for name, meta in sorted(self.manifest["files"].items())}

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()


def sha256_stream(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    with open(path, "rb") as f:
        return sha256_stream(f)


def write(directory: Path, manifest: dict, files: list[str]) -> Path:
    """Write directory/manifest.json: `manifest` plus the sha256 and size of each of `files`."""
    manifest["files"] = {
        name: {"sha256": sha256_file(directory / name), "bytes": (directory / name).stat().st_size}
        for name in files
    }
    parse_manifest(json.dumps(manifest).encode(), str(directory / MANIFEST))  # never write what load refuses
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def parse_manifest(data: bytes, where: str) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise ArtifactError(f"{where}: manifest is not JSON ({error})") from None
    for key in ("name", "version", "files"):
        if key not in manifest:
            raise ArtifactError(f"{where}: manifest has no {key!r}")
    for key in ("name", "version"):
        if not SEGMENT.match(str(manifest[key])):
            raise ArtifactError(f"{where}: manifest {key} {manifest[key]!r} is not usable in an S3 key")
    files = manifest["files"]
    if not isinstance(files, dict) or not files:
        raise ArtifactError(f"{where}: manifest lists no files")
    for name, meta in files.items():
        if not SEGMENT.match(name) or name in (MANIFEST, PROVENANCE):
            raise ArtifactError(f"{where}: manifest lists an unusable file name {name!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", str(meta.get("sha256", ""))):
            raise ArtifactError(f"{where}: manifest has no sha256 for {name}")
    return manifest


def read(path: Path) -> Artifact:
    """The artifact in a directory, its manifest validated; the files are not read."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{path}: no {MANIFEST}")
    data = manifest_path.read_bytes()
    return Artifact(path, parse_manifest(data, str(manifest_path)), data)


def load(path: Path) -> Artifact:
    """The artifact in a directory, its files checked against the manifest (sha256 and size)."""
    artifact = read(path)
    problems = []
    for name, expected in artifact.files.items():
        file = path / name
        if not file.is_file():
            problems.append(f"{name} is missing")
            continue
        size = artifact.manifest["files"][name].get("bytes")
        if size is not None and file.stat().st_size != size:
            problems.append(f"{name} has {file.stat().st_size} bytes, the manifest says {size}")
        elif sha256_file(file) != expected:
            problems.append(f"{name} does not match its sha256 in the manifest")
    if problems:
        raise ArtifactError(f"{path}: " + "; ".join(problems))
    return artifact


def read_provenance(artifact: Artifact) -> dict | None:
    """The registry entry the artifact was fetched from (PROVENANCE); None for the repo's copy.

    The record is not covered by the manifest, so it counts only if it names this very manifest.
    """
    path = artifact.path / PROVENANCE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        entry = {
            "uri": str(record["registry"]),
            "version": str(record["version"]),
            "manifest_sha256": str(record["manifest_sha256"]),
            "approved": bool(record.get("approved")),
        }
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring an unreadable %s", PROVENANCE)
        return None
    if entry["manifest_sha256"] != artifact.manifest_sha256 or entry["version"] != artifact.version:
        log.warning("ignoring %s: it describes another artifact", PROVENANCE)
        return None
    return entry


def info(path: Path) -> dict[str, str]:
    """What identifies an artifact: name, version, the model's and the manifest's sha256."""
    artifact = load(path)
    return {
        "model_name": artifact.name,
        "model_version": artifact.version,
        "model_sha256": artifact.files.get("model.onnx", ""),
        "manifest_sha256": artifact.manifest_sha256,
    }
