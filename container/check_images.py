"""Run each built image under the Lambda Runtime Interface Emulator and check it as Lambda would.

    python -m container.check_images --rie-dir DIR amd64 arm64

For arm64 the run masks /sys/devices/system/cpu, as Lambda's arm64 sandbox lacks it: an
onnxruntime build that crashes on Graviton Lambda crashes here too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import socket
import subprocess
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"
FORBIDDEN_MODULES = ("torch", "transformers", "tensorflow", "sklearn")
FORBIDDEN_TOOLS = ("gcc", "cc", "g++", "clang", "make", "cmake")
KNOWN_REVIEWS = REPO / "functions" / "pretraffic" / "known_reviews.json"  # the PreTraffic hook's


def requests_to_answer() -> dict[str, tuple[str, list[str] | None]]:
    """name -> (event, labels it must get): the predict events, answered one prediction per text, and
    the known reviews, answered with their labels."""
    one = json.loads((EVENTS / "api_predict_one.json").read_text())
    reviews = json.loads(KNOWN_REVIEWS.read_text())
    known = dict(one, body=json.dumps({"texts": [r["text"] for r in reviews]}))
    return {
        "api_predict_one.json": ((EVENTS / "api_predict_one.json").read_text(), None),
        "api_predict_many.json": ((EVENTS / "api_predict_many.json").read_text(), None),
        "api_predict_explain.json": ((EVENTS / "api_predict_explain.json").read_text(), None),
        "known reviews": (json.dumps(known), [r["label"] for r in reviews]),
    }


def check_explained(request: dict, answer: dict) -> None:
    """An explained answer: each prediction's sentences slice its text as sent, in order, fully shaped."""
    texts = request.get("texts", [request.get("text")])
    for text, prediction in zip(texts, answer["predictions"], strict=True):
        sentences = prediction["sentences"]
        assert sentences, f"no sentences for {text!r}"
        for sentence in sentences:
            assert set(sentence) == {"start", "end", "label", "score", "contribution", "read"}, sentence
            piece = text[sentence["start"] : sentence["end"]]
            assert piece and piece == piece.strip(), (text, sentence)
            assert sentence["read"] == (sentence["contribution"] is not None), sentence
        assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(sentences)), sentences


def podman(*args: str, check: bool = True, capture: bool = True) -> str:
    result = subprocess.run(["podman", *args], check=check, text=True, capture_output=capture)
    return result.stdout if capture else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def arch_flags(arch: str) -> list[str]:
    flags = ["--arch", arch]
    if arch == "arm64":
        flags += ["--security-opt", "mask=/sys/devices/system/cpu"]
    return flags


def sizes(image: str, base: str) -> dict:
    """The whole image, and what the project adds to its base (what it adds to AWS's base too)."""
    uncompressed = int(podman("image", "inspect", "--format", "{{.Size}}", image).strip())
    base_size = int(podman("image", "inspect", "--format", "{{.Size}}", base).strip())
    save = subprocess.Popen(["podman", "save", image], stdout=subprocess.PIPE)
    gzip = subprocess.run(["gzip", "-c", "-6"], stdin=save.stdout, capture_output=True, check=True)
    save.wait()
    return {
        "uncompressed_mb": round(uncompressed / 2**20, 1),
        "compressed_mb": round(len(gzip.stdout) / 2**20, 1),
        "added_to_base_mb": round((uncompressed - base_size) / 2**20, 1),
    }


def forbidden_contents(image: str, arch: str) -> list[str]:
    probe = (
        "import importlib.util as u, shutil; "
        f"print([m for m in {FORBIDDEN_MODULES!r} if u.find_spec(m)] + "
        f"[t for t in {FORBIDDEN_TOOLS!r} if shutil.which(t)])"
    )
    out = podman("run", "--rm", *arch_flags(arch), "--entrypoint", "python3", image, "-c", probe)
    return json.loads(out.strip().replace("'", '"'))


def invoke(image: str, arch: str, rie: Path) -> dict:
    port = free_port()
    started = time.perf_counter()
    container = podman(
        "run",
        "-d",
        *arch_flags(arch),
        "-p",
        f"127.0.0.1:{port}:8080",
        "-v",
        f"{rie}:/aws-lambda-rie:ro",
        "--entrypoint",
        "/aws-lambda-rie",
        "-e",
        "POWERTOOLS_METRICS_NAMESPACE=ImdbSentiment",
        "-e",
        "POWERTOOLS_TRACE_DISABLED=true",
        "-e",
        "AWS_DEFAULT_REGION=us-east-1",
        "-e",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=2048",
        image,
        "python3",
        "-m",
        "awslambdaric",
        "functions.api.app.lambda_handler",
    ).strip()
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
    try:
        answers, first_ms = {}, None
        for name, (event, expected) in requests_to_answer().items():
            deadline = time.monotonic() + 600
            while True:
                try:
                    response = requests.post(url, data=event, timeout=600)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            first_ms = first_ms or round((time.perf_counter() - started) * 1000)
            result = response.json()
            assert result.get("statusCode") == 200, f"{arch} {name}: {result}"
            labels = [p["label"] for p in json.loads(result["body"])["predictions"]]
            body = json.loads(json.loads(event)["body"])
            if expected is None:
                assert len(labels) == len(body.get("texts", [body.get("text")])), f"{arch} {name}: {labels}"
            else:
                assert labels == expected, f"{arch} {name}: got {labels}, expected {expected}"
            if body.get("explain"):
                check_explained(body, json.loads(result["body"]))
            answers[name] = labels
        logs = podman("logs", container)
    finally:
        podman("rm", "-f", container, check=False)
    # The handler's init log: process start (inside the emulator) to model loaded and ready.
    ready = re.search(r'"message":"model ready".*?"init_ms":([\d.]+)', logs)
    return {
        "answers": answers,
        "init_ms": float(ready.group(1)) if ready else None,
        "container_start_to_first_answer_ms": first_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("arches", nargs="+", choices=["amd64", "arm64"])
    parser.add_argument("--rie-dir", type=Path, required=True)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    report, failures = {}, []
    for arch in args.arches:
        image = f"localhost/imdb-sentiment:{arch}"
        rie = (args.rie_dir / f"aws-lambda-rie-{'x86_64' if arch == 'amd64' else 'arm64'}").resolve()
        found = forbidden_contents(image, arch)
        if found:
            failures.append(f"{arch}: the image carries {found}")
        base = f"localhost/lambda-python-base:{arch}"
        entry = {
            "image": image,
            **sizes(image, base),
            "forbidden_contents": found,
            **invoke(image, arch, rie),
        }
        report[arch] = entry
        print(
            f"{arch}: {entry['uncompressed_mb']} MB ({entry['compressed_mb']} MB gzip; the project adds "
            f"{entry['added_to_base_mb']} MB to the base); init {entry['init_ms']} ms; first answer "
            f"{entry['container_start_to_first_answer_ms']} ms after container start; known reviews answered",
            flush=True,
        )
    if args.report:
        args.report.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    if failures:
        raise SystemExit("\n".join(failures))


if __name__ == "__main__":
    main()
