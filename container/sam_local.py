"""`sam local` against the function image built for this machine's CPU, through podman's Docker API.

    python -m container.sam_local invoke Api events/api_predict_one.json    (make local-invoke)
    python -m container.sam_local start-api [--port 3000]                   (make local-api)

The image must match the CPU: on an x86_64 machine the arm64 image dies at init under emulation
(onnxruntime reads the host's CPU description), and SAM has no option to mask it. So the template's
Architecture parameter follows the host and ImageUri names the local image (make local-image).

container/check_sam_local.py runs them in the container tier.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from container.podman_service import docker_api

REPO = Path(__file__).resolve().parent.parent
SAM = REPO / ".tools" / "sam" / "bin" / "sam"
WORK = REPO / "build" / "container"
EVENTS = REPO / "events"
REGION = "us-east-1"
# uname -m -> (podman/OCI architecture, Lambda architecture)
ARCHITECTURES = {"x86_64": ("amd64", "x86_64"), "amd64": ("amd64", "x86_64"), "aarch64": ("arm64", "arm64")}


def host_architecture() -> tuple[str, str]:
    machine = platform.machine().lower()
    if machine not in ARCHITECTURES:
        raise SystemExit(f"no Lambda architecture for this machine's CPU ({machine})")
    return ARCHITECTURES[machine]


def local_image() -> str:
    return f"localhost/imdb-sentiment:{host_architecture()[0]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sam_options(template: Path | None = None) -> list[str]:
    image = local_image()
    found = subprocess.run(["podman", "image", "exists", image], check=False).returncode == 0
    if not found:
        raise SystemExit(f"{image} is not built: run `make local-image` first")
    options = ["--skip-pull-image", "--region", REGION]
    options += ["--parameter-overrides", f"Architecture={host_architecture()[1]} ImageUri={image}"]
    return options + (["--template", str(template)] if template else [])


def env_vars_file(extra: dict[str, str] | None = None) -> Path:
    """SAM's --env-vars file: the template's variables that refer to a parameter, at its default.

    SAM resolves no intrinsic function in a variable and passes an empty string instead, which
    breaks LOW_CONFIDENCE_THRESHOLD and friends; `extra` adds or replaces values (the local AWS).
    """
    from local_run.resources import parameter_default, template

    declared = dict(template()["Globals"]["Function"]["Environment"]["Variables"])
    for resource in template()["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            declared.update(resource["Properties"].get("Environment", {}).get("Variables", {}))
    values = {
        name: str(parameter_default(value))
        for name, value in declared.items()
        if isinstance(value, dict) and value.get("Ref") in template()["Parameters"]
    }
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "sam-local-env.json"
    path.write_text(json.dumps({"Parameters": {**values, **(extra or {})}}, indent=2))
    return path


def sam_env(docker_host: str) -> dict[str, str]:
    # Credentials only so that SAM's session has some to hand the function; nothing here calls AWS.
    return {
        **os.environ,
        "DOCKER_HOST": docker_host,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
    }


def run_invoke(function: str, event: str) -> int:
    with docker_api(WORK) as docker_host:
        command = [str(SAM), "local", "invoke", f"{function}Function", "--event", event, *sam_options()]
        command += ["--env-vars", str(env_vars_file())]
        return subprocess.run(command, cwd=REPO, env=sam_env(docker_host), check=False).returncode


def run_start_api(port: int) -> int:
    with docker_api(WORK) as docker_host:
        command = [str(SAM), "local", "start-api", "--port", str(port), *sam_options()]
        command += ["--env-vars", str(env_vars_file()), "--warm-containers", "LAZY"]  # model loads once
        try:
            return subprocess.run(command, cwd=REPO, env=sam_env(docker_host), check=False).returncode
        except KeyboardInterrupt:
            return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="sam local invoke FUNCTION with EVENT")
    invoke.add_argument("function", help="Api, Worker or Batch")
    invoke.add_argument("event", help="an event file, e.g. events/api_predict_one.json")
    start = commands.add_parser("start-api", help="sam local start-api")
    start.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    if args.command == "invoke":
        return run_invoke(args.function, args.event)
    return run_start_api(args.port)


if __name__ == "__main__":
    sys.exit(main())
