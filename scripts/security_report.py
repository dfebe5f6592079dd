"""The infrastructure scan in one place: runs checkov over every template and renders its accepted findings.

    python scripts/security_report.py            print the table of skipped checks (Markdown)
    python scripts/security_report.py --write    put it into docs/security.md between its markers
    python scripts/security_report.py --check    exit 1 on a failed check or a docs/security.md out of date

Each skip lives next to its resource (Metadata.checkov.skip, with a reason); this lists them, so the
document can never disagree with the templates.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"
DOC = REPO / "docs" / "security.md"
START, END = "<!-- skipped-checks:start -->", "<!-- skipped-checks:end -->"


def templates() -> list[Path]:
    """The application stack, its nested stacks and the release stack (as `make lint` scans them)."""
    return [
        REPO / "template.yaml",
        *sorted((REPO / "templates").glob("*.yaml")),
        REPO / "pipeline/bootstrap.yaml",
    ]


def scan(paths: list[Path] | None = None) -> dict:
    """checkov's JSON report (offline: --skip-download) for the given templates."""
    args = [str(CHECKOV), "--skip-download", "--framework", "cloudformation", "--output", "json"]
    for path in paths or templates():
        args += ["-f", str(path)]
    # The pinned scanner of this repository on its own templates: no shell, no outside input.
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    if not result.stdout.strip():  # checkov prints nothing when a file does not parse
        raise RuntimeError(f"checkov gave no report: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def table(report: dict) -> str:
    rows = sorted(
        (
            c["file_path"].lstrip("/"),
            c["resource"].split(".", 1)[1],
            c["check_id"],
            c["check_name"],
            c["check_result"],
        )
        for c in report["results"]["skipped_checks"]
    )
    lines = ["| Template | Resource | Check | Why it does not apply |", "|---|---|---|---|"]
    for path, resource, check, name, result in rows:
        reason = result.get("suppress_comment", "").replace("|", "\\|")
        lines.append(f"| `{path}` | `{resource}` | {check} ({name}) | {reason} |")
    return "\n".join(lines)


def with_table(document: str, rendered: str) -> str:
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{rendered}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="update docs/security.md")
    parser.add_argument("--check", action="store_true", help="fail on findings or a stale docs/security.md")
    args = parser.parse_args()
    report = scan()
    rendered = table(report)
    failed = report["results"]["failed_checks"]
    for check in failed:
        print(f"FAILED {check['check_id']} {check['resource']} ({check['file_path']})", file=sys.stderr)
    if args.write:
        DOC.write_text(with_table(DOC.read_text(), rendered))
    elif args.check:
        if with_table(DOC.read_text(), rendered) != DOC.read_text():
            print(
                "docs/security.md is out of date: python scripts/security_report.py --write", file=sys.stderr
            )
            return 1
    else:
        print(rendered)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
