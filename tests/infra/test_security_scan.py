"""checkov over every template: no failed check, every skip explained by its resource and listed in docs."""

from __future__ import annotations

import functools
import importlib.util

import pytest

from tests.infra.cfn import ALL_PATHS, REPO, load

spec = importlib.util.spec_from_file_location("security_report", REPO / "scripts" / "security_report.py")
security_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(security_report)

pytestmark = pytest.mark.skipif(
    not security_report.CHECKOV.exists(), reason="checkov not installed (make venv)"
)


@functools.cache
def report() -> dict:
    return security_report.scan()


def written_skips() -> list[tuple[str, str, str, str]]:
    """(template, resource, check, reason) of every Metadata.checkov.skip in the templates."""
    found = []
    for path in ALL_PATHS:
        for name, resource in load(path)["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                found.append((path.relative_to(REPO).as_posix(), name, skip["id"], skip.get("comment", "")))
    return found


def test_every_template_is_scanned_and_no_check_fails():
    summary = report()["summary"]
    assert summary["parsing_errors"] == 0
    # Nested stacks hold only alarms and a dashboard, which no check reads: count resources, not results.
    assert summary["resource_count"] == sum(len(load(path)["Resources"]) for path in ALL_PATHS)
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}" for c in report()["results"]["failed_checks"]
    ]
    assert failed == [], "fix it, or skip it next to the resource with the reason"


def test_every_skip_gives_a_reason_and_still_applies():
    skips = written_skips()
    assert skips
    for template, resource, check, reason in skips:
        assert len(reason.split()) >= 8, f"{template} {resource} {check}: the reason is missing or too short"
    reported = {
        (c["file_path"].lstrip("/"), c["resource"].split(".", 1)[1], c["check_id"])
        for c in report()["results"]["skipped_checks"]
    }
    # A skip checkov no longer reports is stale: the finding it excused is gone.
    assert {s[:3] for s in skips} == reported


def test_the_skipped_checks_in_docs_are_the_templates():
    document = (REPO / "docs" / "security.md").read_text()
    rendered = security_report.table(report())
    assert security_report.with_table(document, rendered) == document, (
        "python scripts/security_report.py --write"
    )


def test_the_scan_catches_a_new_finding(tmp_path):
    template = tmp_path / "bucket.yaml"
    template.write_text(
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: plain\n"
    )
    failed = {c["check_id"] for c in security_report.scan([template])["results"]["failed_checks"]}
    assert {"CKV_AWS_21", "CKV_AWS_18"} <= failed  # no versioning, no access logging
