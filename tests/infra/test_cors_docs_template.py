"""template.yaml's CORS (off unless AllowedOrigins names some) and the /docs routes, as SAM deploys them."""

from __future__ import annotations

import pytest

from functions.api.cors import ENV, allowed_origins
from tests.infra.test_iam_policies import RAW, transformed


def test_allowed_origins_default_to_none_and_reach_both_layers():
    assert RAW["Parameters"]["AllowedOrigins"]["Default"] == ""
    assert RAW["Conditions"]["HasAllowedOrigins"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AllowedOrigins"}, ""]}]
    }
    api = RAW["Resources"]["ApiFunction"]["Properties"]
    assert api["Environment"]["Variables"][ENV] == {"Ref": "AllowedOrigins"}

    body = transformed()["Resources"]["HttpApi"]["Properties"]["Body"]
    condition, cors, otherwise = body["x-amazon-apigateway-cors"]["Fn::If"]
    assert condition == "HasAllowedOrigins" and otherwise == {"Ref": "AWS::NoValue"}
    assert cors["allowOrigins"]["Fn::Split"][0] == ","
    assert {"GET", "POST", "OPTIONS"} <= set(cors["allowMethods"])
    assert "content-type" in cors["allowHeaders"] and cors["maxAge"] == 600


@pytest.mark.parametrize(
    "value,origins",
    [
        ("", []),
        ("https://app.example.com", ["https://app.example.com"]),
        (" https://a.example/ , http://localhost:5173,", ["https://a.example", "http://localhost:5173"]),
        ("*", ["*"]),
    ],
)
def test_allowed_origins_parse_as_the_parameter_is_written(value, origins):
    assert allowed_origins(value) == origins


def test_docs_routes_are_deployed_behind_the_same_authorizer_as_the_document():
    events = RAW["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events}
    assert {("GET", "/docs"), ("GET", "/docs/{asset}")} <= routes
    paths = RAW["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]["paths"]
    for path in ("/docs", "/docs/{asset}"):
        assert paths[path]["get"] == paths["/openapi.json"]["get"], path


def test_architecture_parameter_reaches_every_function():
    assert RAW["Parameters"]["Architecture"]["AllowedValues"] == ["arm64", "x86_64"]
    functions = {
        name: resource["Properties"]
        for name, resource in transformed()["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert functions and all(p["Architectures"] == [{"Ref": "Architecture"}] for p in functions.values())
