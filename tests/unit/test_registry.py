"""The model registry against moto: publish, refuse overwrite, approve, resolve, fetch, tamper detection."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest

from model_registry.__main__ import main
from model_registry.registry import Registry, TamperedError, VersionExists, VersionNotFound
from sentiment_core import manifest as artifact
from tests.helpers import versioned_bucket

NAME = "tiny-sentiment"


def make_artifact(path: Path, version: str, model: bytes = b"onnx bytes", name: str = NAME) -> Path:
    """A small artifact laid out like the real one: files plus a manifest with their sha256s."""
    path.mkdir(parents=True, exist_ok=True)
    files = {"model.onnx": model, "tokenizer.json": b'{"model": "wordpiece"}'}
    for file, data in files.items():
        (path / file).write_bytes(data)
    manifest = {
        "name": name,
        "version": version,
        "evaluation": {"onnx_int8": {"accuracy": 0.92}},
        "files": {f: {"sha256": hashlib.sha256(d).hexdigest(), "bytes": len(d)} for f, d in files.items()},
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return path


@pytest.fixture
def bucket(aws) -> str:
    return versioned_bucket("registry")


@pytest.fixture
def registry(bucket) -> Registry:
    return Registry(bucket)


def object_versions(bucket: str, key: str) -> list[dict]:
    listing = boto3.client("s3").list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in listing.get("Versions", []) if v["Key"] == key]


def body(bucket: str, key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_publish_uploads_files_and_manifest_last(registry, bucket, tmp_path):
    art = make_artifact(tmp_path / "a", "1.0.0")
    entry = registry.publish(art)
    assert entry.uri == f"s3://{bucket}/models/{NAME}/1.0.0/"
    for file in ("model.onnx", "tokenizer.json", "manifest.json"):
        assert body(bucket, f"models/{NAME}/1.0.0/{file}") == (art / file).read_bytes()
    assert entry.manifest_sha256 == hashlib.sha256((art / "manifest.json").read_bytes()).hexdigest()
    assert entry.files["model.onnx"] == hashlib.sha256(b"onnx bytes").hexdigest()
    head = boto3.client("s3").head_object(Bucket=bucket, Key=f"models/{NAME}/1.0.0/manifest.json")
    assert head["Metadata"]["published-by"] and head["Metadata"]["published-at"]
    assert registry.versions(NAME) == ["1.0.0"]


def test_publish_refuses_to_overwrite_a_version(registry, bucket, tmp_path):
    registry.publish(make_artifact(tmp_path / "a", "1.0.0"))
    with pytest.raises(VersionExists, match="already published"):
        registry.publish(make_artifact(tmp_path / "a", "1.0.0"))
    # Same version, other bytes: refused, and nothing in S3 changes.
    with pytest.raises(VersionExists):
        registry.publish(make_artifact(tmp_path / "b", "1.0.0", model=b"another model"))
    for file in ("model.onnx", "tokenizer.json", "manifest.json"):
        assert len(object_versions(bucket, f"models/{NAME}/1.0.0/{file}")) == 1
    assert body(bucket, f"models/{NAME}/1.0.0/model.onnx") == b"onnx bytes"


def test_conditional_put_refuses_a_concurrent_publishers_file(registry, bucket, tmp_path):
    # Another publisher's model.onnx landed first (no manifest yet): the conditional put refuses ours.
    boto3.client("s3").put_object(Bucket=bucket, Key=f"models/{NAME}/2.0.0/model.onnx", Body=b"theirs")
    with pytest.raises(VersionExists, match="never overwritten"):
        registry.publish(make_artifact(tmp_path / "a", "2.0.0"))
    assert body(bucket, f"models/{NAME}/2.0.0/model.onnx") == b"theirs"
    assert registry.versions(NAME) == []  # no manifest: not a published version


def test_an_interrupted_publish_is_completed(registry, bucket, tmp_path):
    art = make_artifact(tmp_path / "a", "1.1.0")
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=bucket, Key=f"models/{NAME}/1.1.0/model.onnx", Body=(art / "model.onnx").read_bytes()
    )
    assert registry.versions(NAME) == []
    registry.publish(art)
    assert registry.versions(NAME) == ["1.1.0"]


def test_a_corrupt_local_artifact_is_not_published(registry, bucket, tmp_path):
    art = make_artifact(tmp_path / "a", "1.0.0")
    (art / "model.onnx").write_bytes(b"onnx bytez")  # same size, other bytes
    with pytest.raises(artifact.ArtifactError, match=r"model\.onnx does not match"):
        registry.publish(art)
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=bucket)


def test_approve_writes_the_pointer_and_resolves(registry, bucket, tmp_path):
    registry.publish(make_artifact(tmp_path / "a", "1.0.0"))
    registry.publish(make_artifact(tmp_path / "b", "1.1.0", model=b"better model"))
    with pytest.raises(VersionNotFound):
        registry.resolve(NAME, "approved")

    pointer = registry.approve(NAME, "1.0.0")
    assert registry.resolve(NAME, "approved") == ("1.0.0", pointer)
    stored = json.loads(body(bucket, f"models/{NAME}/approved.json"))
    assert stored["version"] == "1.0.0" and stored["approved_by"] and stored["approved_at"]
    assert stored["files"]["model.onnx"] == hashlib.sha256(b"onnx bytes").hexdigest()
    assert stored["manifest_sha256"] == registry.verify(NAME, "1.0.0").manifest_sha256

    registry.approve(NAME, "1.1.0")
    assert registry.resolve(NAME, "approved")[0] == "1.1.0"
    # Bucket versioning keeps the approval history.
    history = object_versions(bucket, f"models/{NAME}/approved.json")
    assert len(history) == 2


def test_approving_an_unpublished_version_fails(registry, tmp_path):
    registry.publish(make_artifact(tmp_path / "a", "1.0.0"))
    with pytest.raises(VersionNotFound, match="not published"):
        registry.approve(NAME, "9.9.9")
    with pytest.raises(Exception, match="not a valid registry version"):
        registry.approve(NAME, "../1.0.0")


def test_fetch_approved_verifies_and_records_provenance(registry, bucket, tmp_path):
    art = make_artifact(tmp_path / "a", "1.0.0")
    registry.publish(art)
    registry.approve(NAME, "1.0.0")
    dest = tmp_path / "build" / "registry-model"
    entry = registry.fetch(NAME, "approved", dest)
    for file in ("model.onnx", "tokenizer.json", "manifest.json"):
        assert (dest / file).read_bytes() == (art / file).read_bytes()
    provenance = json.loads((dest / "registry.json").read_text())
    assert provenance["registry"] == entry.uri == f"s3://{bucket}/models/{NAME}/1.0.0/"
    assert provenance["approved"] is True and provenance["version"] == "1.0.0"
    assert provenance["manifest_sha256"] == entry.manifest_sha256
    assert artifact.load(dest).version == "1.0.0"
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")]  # no staging left
    # Readable by all: the image copies it as it is, and Lambda runs the function as a non-root user.
    assert all(p.stat().st_mode & 0o004 for p in [dest, *dest.iterdir()])
    assert dest.stat().st_mode & 0o001


def test_fetch_detects_a_replaced_file(registry, bucket, tmp_path):
    registry.publish(make_artifact(tmp_path / "a", "1.0.0"))
    registry.approve(NAME, "1.0.0")
    boto3.client("s3").put_object(Bucket=bucket, Key=f"models/{NAME}/1.0.0/model.onnx", Body=b"evil bytes")
    dest = tmp_path / "build" / "registry-model"
    for version in ("approved", "1.0.0"):
        with pytest.raises(TamperedError, match=r"model\.onnx does not match"):
            registry.fetch(NAME, version, dest)
    assert not dest.parent.exists() or not any(dest.parent.iterdir())  # nothing for the build to copy
    with pytest.raises(TamperedError):
        registry.approve(NAME, "1.0.0")


def test_fetch_approved_detects_a_rewritten_manifest(registry, bucket, tmp_path):
    registry.publish(make_artifact(tmp_path / "a", "1.0.0"))
    registry.approve(NAME, "1.0.0")
    # Model and manifest replaced consistently: only the approval pointer can tell.
    forged = make_artifact(tmp_path / "forged", "1.0.0", model=b"evil bytes")
    s3 = boto3.client("s3")
    for file in ("model.onnx", "manifest.json"):
        s3.put_object(Bucket=bucket, Key=f"models/{NAME}/1.0.0/{file}", Body=(forged / file).read_bytes())
    with pytest.raises(TamperedError, match="changed after approval"):
        registry.fetch(NAME, "approved", tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_fetch_detects_a_manifest_copied_under_another_version(registry, bucket, tmp_path):
    registry.publish(make_artifact(tmp_path / "a", "1.0.0"))
    s3 = boto3.client("s3")
    for file in ("model.onnx", "tokenizer.json", "manifest.json"):
        s3.copy_object(
            Bucket=bucket,
            Key=f"models/{NAME}/3.0.0/{file}",
            CopySource={"Bucket": bucket, "Key": f"models/{NAME}/1.0.0/{file}"},
        )
    with pytest.raises(TamperedError, match=r"describes tiny-sentiment 1\.0\.0, not tiny-sentiment 3\.0\.0"):
        registry.fetch(NAME, "3.0.0", tmp_path / "dest")


def test_cli_publish_approve_fetch_list(bucket, tmp_path, capsys):
    art = make_artifact(tmp_path / "a", "1.0.0")
    assert main(["publish", "--bucket", bucket, "--model-dir", str(art)]) == 0
    assert json.loads(capsys.readouterr().out)["uri"] == f"s3://{bucket}/models/{NAME}/1.0.0/"

    assert main(["publish", "--bucket", bucket, "--model-dir", str(art)]) == 1
    assert "already published" in capsys.readouterr().err

    assert main(["approve", "--bucket", bucket, "--name", NAME, "--version", "1.0.0"]) == 0
    capsys.readouterr()
    dest = tmp_path / "fetched"
    assert main(["fetch", "--bucket", bucket, "--name", NAME, "--dest", str(dest)]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "1.0.0"
    assert main(["list", "--bucket", bucket, "--name", NAME]) == 0
    assert json.loads(capsys.readouterr().out) == {"name": NAME, "versions": ["1.0.0"], "approved": "1.0.0"}
    assert main(["verify", "--bucket", bucket, "--name", NAME]) == 0
    assert json.loads(capsys.readouterr().out)["verified"] is True


def test_cli_without_a_bucket_says_where_to_find_it(monkeypatch, capsys):
    monkeypatch.delenv("ARTIFACTS_BUCKET", raising=False)
    assert main(["list", "--bucket", ""]) == 1
    assert "ARTIFACTS_BUCKET" in capsys.readouterr().err


def test_cli_info_prints_step_outputs(tmp_path, capsys):
    art = make_artifact(tmp_path / "a", "4.2.0")
    assert main(["info", "--model-dir", str(art)]) == 0
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["model_version"] == "4.2.0"
    assert lines["model_sha256"] == hashlib.sha256(b"onnx bytes").hexdigest()
    (art / "tokenizer.json").unlink()
    assert main(["info", "--model-dir", str(art)]) == 1
    assert "tokenizer.json is missing" in capsys.readouterr().err
