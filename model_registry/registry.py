"""The registry: s3://<bucket>/models/<name>/<version>/ holds one published artifact, never overwritten.

- publish: every object is put with If-None-Match: * (S3 refuses to overwrite, atomically, even against
  a concurrent publisher) and read back to check its sha256; manifest.json goes last and is the version's
  commit marker: a version without it is an interrupted publish, which publishing again completes.
- approve: models/<name>/approved.json names the version deployments take, with its sha256s. One small
  object: a single PUT moves it, a single GET reads it, bucket versioning keeps its history.
- fetch: downloads a version (or the approved one) for the image build, checking every sha256 against
  the manifest and, for the approved version, the manifest against the pointer.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from sentiment_core import manifest as artifact
from sentiment_core.manifest import MANIFEST, PROVENANCE, SEGMENT, Artifact

PREFIX = "models"
APPROVED = "approved.json"
APPROVED_ALIAS = "approved"
_CONDITION_FAILED = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class RegistryError(RuntimeError):
    """A registry operation was refused; the message says why."""


class VersionExists(RegistryError):
    pass


class VersionNotFound(RegistryError):
    pass


class TamperedError(RegistryError):
    """What the registry holds does not match its manifest or the approval pointer."""


@dataclass(frozen=True)
class Entry:
    """One published version, as the registry holds it."""

    name: str
    version: str
    uri: str
    manifest_sha256: str
    files: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _who() -> str:
    return os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


class Registry:
    def __init__(self, bucket: str, s3: Any = None) -> None:
        if not bucket:
            raise RegistryError(
                "no registry bucket: set ARTIFACTS_BUCKET (the pipeline stack's ArtifactsBucketName output)"
            )
        self.bucket = bucket
        self.s3 = s3 or boto3.client("s3")

    # ------------------------------------------------------------------ keys
    @staticmethod
    def _check(segment: str, what: str) -> str:
        if not SEGMENT.match(segment):
            raise RegistryError(f"{what} {segment!r} is not a valid registry {what}")
        return segment

    def version_prefix(self, name: str, version: str) -> str:
        return f"{PREFIX}/{self._check(name, 'name')}/{self._check(version, 'version')}/"

    def uri(self, name: str, version: str) -> str:
        return f"s3://{self.bucket}/{self.version_prefix(name, version)}"

    def approved_key(self, name: str) -> str:
        return f"{PREFIX}/{self._check(name, 'name')}/{APPROVED}"

    # ------------------------------------------------------------------ S3 helpers
    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return False
            raise
        return True

    def _get(self, key: str, missing: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise VersionNotFound(missing) from None
            raise

    def _remote_sha256(self, key: str, into: Path | None = None) -> str:
        """sha256 of the object as a reader gets it, streamed; optionally saved to a file on the way."""
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        with open(into, "wb") if into else open(os.devnull, "wb") as out:
            for chunk in body.iter_chunks(artifact.CHUNK):
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()

    def _put_once(self, key: str, path: Path, sha256: str, metadata: dict[str, str] | None = None) -> None:
        """Put a file unless the key exists; an existing object with the same bytes is accepted
        (an interrupted publish being completed), any other is a refusal."""
        content_type = "application/json" if key.endswith(".json") else "application/octet-stream"
        try:
            with open(path, "rb") as body:
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    IfNoneMatch="*",
                    # S3 recomputes this and rejects the upload if the bytes it received differ.
                    ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                    ContentType=content_type,
                    Metadata={"sha256": sha256, **(metadata or {})},
                )
        except ClientError as error:
            if _code(error) not in _CONDITION_FAILED:
                raise
            if key.endswith(MANIFEST) or self._remote_sha256(key) != sha256:
                raise VersionExists(
                    f"s3://{self.bucket}/{key} already exists: a version is never overwritten"
                ) from None

    # ------------------------------------------------------------------ operations
    def publish(self, model_dir: Path) -> Entry:
        local = artifact.load(model_dir)  # a corrupt artifact is refused before anything is uploaded
        prefix = self.version_prefix(local.name, local.version)
        if self._exists(prefix + MANIFEST):
            raise VersionExists(
                f"{self.uri(local.name, local.version)} is already published: a version is never "
                "overwritten; bump the manifest's version"
            )
        for name, sha256 in local.files.items():
            self._put_once(prefix + name, model_dir / name, sha256)
            if self._remote_sha256(prefix + name) != sha256:
                raise TamperedError(f"s3://{self.bucket}/{prefix}{name}: read back with another sha256")
        # The commit marker, last: a reader never finds a manifest whose files are not all there.
        self._put_once(
            prefix + MANIFEST,
            model_dir / MANIFEST,
            local.manifest_sha256,
            metadata={"published-by": _who(), "published-at": _utc_now(), "source-commit": _git_commit()},
        )
        if self._remote_sha256(prefix + MANIFEST) != local.manifest_sha256:
            raise TamperedError(f"s3://{self.bucket}/{prefix}{MANIFEST}: read back with another sha256")
        return self._entry(local)

    def _entry(self, art: Artifact) -> Entry:
        return Entry(art.name, art.version, self.uri(art.name, art.version), art.manifest_sha256, art.files)

    def _remote_manifest(self, name: str, version: str) -> tuple[dict, bytes]:
        prefix = self.version_prefix(name, version)
        data = self._get(prefix + MANIFEST, f"{self.uri(name, version)} is not published")
        manifest = artifact.parse_manifest(data, f"s3://{self.bucket}/{prefix}{MANIFEST}")
        if (manifest["name"], manifest["version"]) != (name, version):
            raise TamperedError(
                f"s3://{self.bucket}/{prefix}{MANIFEST} describes {manifest['name']} {manifest['version']}, "
                f"not {name} {version}"
            )
        return manifest, data

    def versions(self, name: str) -> list[str]:
        """Published (committed) versions of a model, oldest key first."""
        paginator = self.s3.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{PREFIX}/{self._check(name, 'name')}/"):
            for obj in page.get("Contents", []):
                parts = obj["Key"].split("/")
                if len(parts) == 4 and parts[3] == MANIFEST:
                    found.append(parts[2])
        return sorted(found)

    def approved(self, name: str) -> dict:
        """The approval pointer of a model."""
        data = self._get(self.approved_key(name), f"no version of {name} is approved")
        pointer = json.loads(data)
        for key in ("version", "manifest_sha256", "files"):
            if key not in pointer:
                raise TamperedError(f"s3://{self.bucket}/{self.approved_key(name)} has no {key!r}")
        return pointer

    def resolve(self, name: str, version: str) -> tuple[str, dict | None]:
        """(version, pointer): `approved` resolves through the pointer, any other version is itself."""
        if version == APPROVED_ALIAS:
            pointer = self.approved(name)
            return pointer["version"], pointer
        return self._check(version, "version"), None

    def verify(self, name: str, version: str, pointer: dict | None = None, into: Path | None = None) -> Entry:
        """Check every object of a version against its manifest (and the manifest against the pointer);
        with `into`, the verified files are left there."""
        manifest, data = self._remote_manifest(name, version)
        entry = Entry(
            name,
            version,
            self.uri(name, version),
            hashlib.sha256(data).hexdigest(),
            {n: m["sha256"] for n, m in sorted(manifest["files"].items())},
        )
        if pointer is not None and (
            pointer.get("version") != version
            or pointer["manifest_sha256"] != entry.manifest_sha256
            or pointer["files"] != entry.files
        ):
            raise TamperedError(
                f"{entry.uri}{MANIFEST} does not match the approval pointer {self.approved_key(name)}: "
                "changed after approval"
            )
        prefix = self.version_prefix(name, version)
        for file, expected in entry.files.items():
            try:
                actual = self._remote_sha256(prefix + file, into / file if into else None)
            except ClientError as error:
                if _code(error) in _NOT_FOUND:
                    raise TamperedError(f"{entry.uri}{file} is missing") from None
                raise
            if actual != expected:
                raise TamperedError(f"{entry.uri}{file} does not match its sha256 in the manifest")
        if into:
            (into / MANIFEST).write_bytes(data)
        return entry

    def approve(self, name: str, version: str) -> dict:
        """Point models/<name>/approved.json at a version, after checking its files."""
        entry = self.verify(name, self._check(version, "version"))
        pointer = {
            **entry.as_dict(),
            "approved_by": _who(),
            "approved_at": _utc_now(),
        }
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.approved_key(name),
            Body=json.dumps(pointer, indent=2).encode(),
            ContentType="application/json",
        )
        return pointer

    def fetch(self, name: str, version: str, dest: Path) -> Entry:
        """Download a version (or `approved`) into dest, verified; dest is replaced only on success."""
        resolved, pointer = self.resolve(name, version)
        dest = dest.resolve()
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        try:
            entry = self.verify(name, resolved, pointer, into=staging)
            provenance = {
                "registry": entry.uri,
                "name": entry.name,
                "version": entry.version,
                "manifest_sha256": entry.manifest_sha256,
                "approved": pointer is not None,
                "fetched_at": _utc_now(),
            }
            (staging / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
            artifact.load(staging)  # the files on disk, once more, as the image build will copy them
            # mkdtemp makes it 0700: copied so into the image, Lambda's non-root user could not read it.
            staging.chmod(0o755)
            if dest.exists():
                shutil.rmtree(dest)
            staging.rename(dest)
        except BaseException:  # a failed or tampered fetch leaves nothing behind for the build to copy
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return entry
