"""A CSV overwritten or deleted by mistake comes back from its previous version, on the local stack."""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from local_run.resources import create_resources
from tests.infra.cfn import RESOURCES

KEY = "incoming/team/reviews.csv"
ORIGINAL = b"review\nA moving, beautifully acted film.\n"
MISTAKE = b"review\n\n"


@pytest.fixture
def bucket() -> str:
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        yield create_resources().bucket


def test_the_local_bucket_is_versioned_as_the_template_says(bucket):
    template = RESOURCES["DataBucket"]["Properties"]["VersioningConfiguration"]
    assert (
        boto3.client("s3").get_bucket_versioning(Bucket=bucket)["Status"] == template["Status"] == "Enabled"
    )


def test_an_overwritten_csv_is_restored_from_its_previous_version(bucket):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=KEY, Body=ORIGINAL)
    s3.put_object(Bucket=bucket, Key=KEY, Body=MISTAKE)
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == MISTAKE

    versions = s3.list_object_versions(Bucket=bucket, Prefix=KEY)["Versions"]
    previous = next(v for v in sorted(versions, key=lambda v: v["LastModified"]) if not v["IsLatest"])
    s3.copy_object(
        Bucket=bucket, Key=KEY, CopySource={"Bucket": bucket, "Key": KEY, "VersionId": previous["VersionId"]}
    )

    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == ORIGINAL
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=KEY)["Versions"]) == 3  # nothing lost on the way


def test_a_deleted_csv_is_restored_by_removing_its_delete_marker(bucket):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=KEY, Body=ORIGINAL)
    s3.delete_object(Bucket=bucket, Key=KEY)
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key=KEY)
    (marker,) = s3.list_object_versions(Bucket=bucket, Prefix=KEY)["DeleteMarkers"]
    s3.delete_object(Bucket=bucket, Key=KEY, VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == ORIGINAL
