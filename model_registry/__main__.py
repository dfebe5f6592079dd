"""python -m model_registry {publish,approve,fetch,verify,list,info}: the Makefile's registry targets.

The bucket is --bucket or $ARTIFACTS_BUCKET (the pipeline stack's ArtifactsBucketName output); the
endpoint and credentials are boto3's usual ones (AWS_ENDPOINT_URL points it at the local run's moto).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sentiment_core import manifest as artifact

REPO_MODEL = Path(__file__).resolve().parents[1] / "layers" / "sentiment_model" / "model"


def _default_name() -> str | None:
    try:
        return json.loads((REPO_MODEL / artifact.MANIFEST).read_text())["name"]
    except (OSError, ValueError, KeyError):
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model_registry", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def with_bucket(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--bucket", default=os.environ.get("ARTIFACTS_BUCKET", ""), help="$ARTIFACTS_BUCKET")
        return p

    def with_name(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        name = _default_name()
        p.add_argument("--name", default=name, required=name is None, help="default: the repo manifest's")
        return p

    publish = with_bucket(commands.add_parser("publish", help="upload an artifact as a new version"))
    publish.add_argument("--model-dir", type=Path, default=REPO_MODEL)
    approve = with_name(with_bucket(commands.add_parser("approve", help="mark a version for deployment")))
    approve.add_argument("--version", required=True)
    fetch = with_name(with_bucket(commands.add_parser("fetch", help="download a verified version")))
    fetch.add_argument("--version", default="approved", help="a version, or 'approved' (default)")
    fetch.add_argument("--dest", type=Path, default=Path("build/registry-model"))
    verify = with_name(with_bucket(commands.add_parser("verify", help="check a version's sha256s in S3")))
    verify.add_argument("--version", default="approved")
    with_name(with_bucket(commands.add_parser("list", help="published versions and the approved one")))
    info = commands.add_parser("info", help="name, version and sha256s of a local artifact (key=value)")
    info.add_argument("--model-dir", type=Path, default=REPO_MODEL)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":  # no AWS: GitHub Actions reads these lines into step outputs
        try:
            print("\n".join(f"{k}={v}" for k, v in artifact.info(args.model_dir).items()))
        except artifact.ArtifactError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    from botocore.exceptions import BotoCoreError, ClientError  # boto3 only where S3 is used

    from model_registry.registry import Registry, RegistryError

    try:
        registry = Registry(args.bucket)
        if args.command == "publish":
            result = registry.publish(args.model_dir).as_dict()
        elif args.command == "approve":
            result = registry.approve(args.name, args.version)
        elif args.command == "fetch":
            entry = registry.fetch(args.name, args.version, args.dest)
            result = {**entry.as_dict(), "dest": str(args.dest)}
        elif args.command == "verify":
            version, pointer = registry.resolve(args.name, args.version)
            result = {**registry.verify(args.name, version, pointer).as_dict(), "verified": True}
        else:
            try:
                approved = registry.approved(args.name)["version"]
            except RegistryError:
                approved = None
            result = {"name": args.name, "versions": registry.versions(args.name), "approved": approved}
    except (RegistryError, artifact.ArtifactError, ClientError, BotoCoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
