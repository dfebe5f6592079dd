"""model_compare's statistics (against SciPy), its reading of a labelled file, and its resolution of a
registry version on moto."""

from __future__ import annotations

import gzip
import json

import boto3
import numpy as np
import pytest
from scipy import stats as scipy_stats

from model_compare import stats
from model_compare.data import DataError, read_rows
from model_compare.resolve import ResolveError, resolve
from model_registry.registry import Registry
from tests.helpers import versioned_bucket
from tests.unit.test_registry import NAME, make_artifact


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (912, 1000), (22871, 25000)])
def test_wilson_interval_is_scipys(k, n):
    expected = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert stats.wilson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-9)


@pytest.mark.parametrize(("b", "c"), [(0, 0), (0, 5), (5, 5), (3, 12), (40, 61), (150, 212), (1200, 1350)])
def test_mcnemar_exact_is_a_two_sided_binomial_test_of_the_discordant_rows(b, c):
    expected = 1.0 if b + c == 0 else scipy_stats.binomtest(b, b + c, 0.5).pvalue
    assert stats.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)
    assert stats.mcnemar_exact(b, c) == stats.mcnemar_exact(c, b)


def test_reliability_bins_and_ece_by_hand():
    p = [0.05, 0.15, 0.95, 0.92, 0.55, 1.0]
    y = [False, True, True, True, False, True]
    bins = stats.reliability(p, y)
    assert [b.count for b in bins] == [1, 1, 0, 0, 0, 1, 0, 0, 0, 3]
    assert bins[9].mean_confidence == pytest.approx((0.95 + 0.92 + 1.0) / 3) and bins[9].positive_rate == 1
    # |0.05-0| + |0.15-1| + |0.55-0| + 3*|0.9567-1|, over 6 rows
    expected = (0.05 + 0.85 + 0.55 + (3 - 0.95 - 0.92 - 1.0)) / 6
    assert stats.expected_calibration_error(bins) == pytest.approx(expected)


def test_percentile_is_numpys():
    values = [5.0, 1.0, 9.5, 3.25, 7.0, 2.0, 8.0]
    for q in (0, 50, 90, 99, 100):
        assert stats.percentile(values, q) == pytest.approx(np.percentile(values, q))


def write_csv(path, lines: list[str], compress: bool = False):
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_labels_as_words_or_digits_gzip_and_rows_without_text(tmp_path):
    path = write_csv(
        tmp_path / "r.csv.gz",
        ["id,label,text", "1,positive,Great.", "2,0,Awful.", "3,1,   ", "4,NEG,Dull."],
        compress=True,
    )
    rows = read_rows(path)
    assert rows.texts == ["Great.", "Awful.", "Dull."]
    assert rows.positive == [True, False, False] and rows.line_numbers == [2, 3, 5]
    assert rows.skipped_empty == 1


def test_without_a_label_column_rows_have_no_labels(tmp_path):
    rows = read_rows(write_csv(tmp_path / "r.csv", ["review", "Fine.", "Bad."]))
    assert rows.positive is None and rows.texts == ["Fine.", "Bad."]


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["id,label,text", "1,maybe,Hm."], "line 2: label 'maybe'"),
        (["id,body", "1,Hm."], "no text column"),
        (["text"], "no row has a text"),
    ],
)
def test_a_file_that_cannot_be_compared_says_why(tmp_path, lines, problem):
    with pytest.raises(DataError, match=problem):
        read_rows(write_csv(tmp_path / "r.csv", lines))


def test_limit_draws_a_seeded_sample_from_a_file_sorted_by_label(tmp_path):
    lines = ["label,text"] + [f"0,bad {i}" for i in range(500)] + [f"1,good {i}" for i in range(500)]
    path = write_csv(tmp_path / "r.csv", lines)
    first, again = read_rows(path, limit=100), read_rows(path, limit=100)
    assert first.texts == again.texts and len(first.texts) == 100 and first.total == 1000
    assert 30 < sum(first.positive) < 70  # both classes, not the file's first 100 rows
    assert first.line_numbers == sorted(first.line_numbers)


def test_a_directory_is_used_as_it_is(tmp_path):
    assert resolve(str(tmp_path), bucket="") == tmp_path


def test_a_version_is_fetched_from_the_registry_and_verified(aws, tmp_path):
    bucket = versioned_bucket("compare")
    registry = Registry(bucket)
    registry.publish(make_artifact(tmp_path / "art", "2.0.0"))
    path = resolve("2.0.0", name=NAME, bucket=bucket, into=tmp_path / "fetched")
    assert path == tmp_path / "fetched" / "2.0.0"
    assert json.loads((path / "manifest.json").read_text())["version"] == "2.0.0"
    assert json.loads((path / "registry.json").read_text())["registry"].startswith(f"s3://{bucket}/")
    registry.approve(NAME, "2.0.0")
    approved = resolve("approved", name=NAME, bucket=bucket, into=tmp_path / "fetched")
    assert json.loads((approved / "manifest.json").read_text())["version"] == "2.0.0"
    assert json.loads((approved / "registry.json").read_text())["approved"] is True


def test_a_version_missing_tampered_or_without_a_bucket_is_refused(aws, tmp_path):
    bucket = versioned_bucket("compare")
    Registry(bucket).publish(make_artifact(tmp_path / "art", "2.0.0"))
    with pytest.raises(ResolveError, match="not published"):
        resolve("9.9.9", name=NAME, bucket=bucket, into=tmp_path / "f")
    boto3.client("s3").put_object(Bucket=bucket, Key=f"models/{NAME}/2.0.0/model.onnx", Body=b"swapped")
    with pytest.raises(ResolveError, match="does not match its sha256"):
        resolve("2.0.0", name=NAME, bucket=bucket, into=tmp_path / "f")
    assert not (tmp_path / "f" / "2.0.0").exists()
    with pytest.raises(ResolveError, match="set ARTIFACTS_BUCKET"):
        resolve("2.0.0", name=NAME, bucket="")
    with pytest.raises(ResolveError, match="no such model directory"):
        resolve("no/such/dir", bucket=bucket)
