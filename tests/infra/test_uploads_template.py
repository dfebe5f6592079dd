"""What browser uploads need of the template: the data bucket's CORS rule (the page's origin, POST
only), the upload parameters reaching the API, and start rules that route a POST upload."""

from __future__ import annotations

import re

import pytest

from local_run.pollers import matches
from local_run.resources import bucket_cors, rule_pattern
from tests.infra.cfn import ROOT as RAW

API_URL = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"


def test_the_bucket_allows_browser_posts_from_the_page_origin_alone():
    (rule,) = RAW["Resources"]["DataBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]  # downloads and the report frame are plain GETs
    (origin,) = rule["AllowedOrigins"]
    assert origin == {"Fn::If": ["HasUploadPageOrigin", {"Ref": "UploadPageOrigin"}, {"Fn::Sub": API_URL}]}
    assert RAW["Outputs"]["ApiUrl"]["Value"] == {"Fn::Sub": API_URL}  # the page is served by this API
    assert "AllowedHeaders" not in rule and "ExposedHeaders" not in rule  # a form POST sends none


@pytest.mark.parametrize(
    "origin,allowed",
    [
        ("", True),
        ("https://reviews.example.com", True),
        ("https://reviews.example.com:8443", True),
        ("*", False),
        ("https://*.example.com", False),
        ("http://reviews.example.com", False),
        ("https://a.example.com,https://b.example.com", False),
        ("https://reviews.example.com/path", False),
    ],
)
def test_the_page_origin_parameter_takes_one_https_origin(origin, allowed):
    pattern = RAW["Parameters"]["UploadPageOrigin"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, origin)) is allowed


def test_anonymous_uploads_are_off_by_default_and_the_api_reads_its_settings():
    parameters = RAW["Parameters"]
    assert parameters["AllowAnonymousUploads"]["Default"] == "false"
    assert parameters["UploadMaxBytes"]["Default"] == 100 * 1024 * 1024
    variables = RAW["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["API_AUTHORIZER"] == {"Ref": "ApiAuthorizer"}
    assert variables["ALLOW_ANONYMOUS_UPLOADS"] == {"Ref": "AllowAnonymousUploads"}
    assert variables["UPLOAD_MAX_BYTES"] == {"Ref": "UploadMaxBytes"}
    # The bucket by its name: a Ref would make the bucket (its CORS rule names the API) a cycle.
    assert variables["DATA_BUCKET"] == RAW["Resources"]["DataBucket"]["Properties"]["BucketName"]


def test_upload_markers_last_as_long_as_the_results_they_find():
    rules = {
        r["Id"]: r for r in RAW["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    assert rules["expire-upload-markers"]["Prefix"] == "uploads/"
    assert rules["expire-upload-markers"]["ExpirationInDays"] == rules["expire-scored"]["ExpirationInDays"]


def post_upload_event(bucket: str, key: str, size: int) -> dict:
    """EventBridge's Object Created event for a browser's POST upload (reason PostObject)."""
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": size}, "reason": "PostObject"},
    }


@pytest.mark.parametrize("rule,size", [("BatchStartRule", 2_000), ("FanoutStartRule", 50 * 1024 * 1024)])
def test_a_post_upload_is_routed_like_any_other(rule, size):
    pattern = rule_pattern(rule)
    assert "reason" not in pattern["detail"]  # a filter on Put/PutObject alone would miss browser uploads
    bucket = pattern["detail"]["bucket"]["name"][0]
    for key in ("incoming/0b7c2a9e-5f55-4a55-9a71-1f3c0d2a9b10/reviews.csv", "incoming/0b7c/reviews.csv.gz"):
        assert matches(pattern, post_upload_event(bucket, key, size)), key


def test_the_local_run_applies_the_same_rule_to_its_own_page():
    assert bucket_cors("http://127.0.0.1:3000") == {
        "CORSRules": [
            {
                "ID": "upload-page",
                "AllowedMethods": ["POST"],
                "MaxAgeSeconds": 600,
                "AllowedOrigins": ["http://127.0.0.1:3000"],
            }
        ]
    }
