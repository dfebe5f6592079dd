"""The project's CloudFormation templates, loaded once for the infrastructure tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from local_run.stack_template import deployed

REPO = Path(__file__).resolve().parents[2]
ROOT_PATH = REPO / "template.yaml"
BOOTSTRAP_PATH = REPO / "pipeline" / "bootstrap.yaml"
NESTED_PATHS = sorted((REPO / "templates").glob("*.yaml"))
ALL_PATHS = [ROOT_PATH, *NESTED_PATHS, BOOTSTRAP_PATH]


def load(path: Path) -> dict:
    return cfn_yaml.load(str(path))


ROOT = load(ROOT_PATH)
# Every resource the stack deploys, nested ones included, each reading as if the root declared it
# (local_run/stack_template.py): what the tests of functions, roles and storage read.
RESOURCES = deployed()["Resources"]
BOOTSTRAP = load(BOOTSTRAP_PATH)
NESTED = {path.relative_to(REPO).as_posix(): load(path) for path in NESTED_PATHS}
# The templates SAM transforms (the root, and a nested one that declares functions).
SAM_PATHS = [path for path in (ROOT_PATH, *NESTED_PATHS) if "Transform" in load(path)]


def of_type(resources: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def applications() -> dict[str, tuple[dict, dict]]:
    """Each nested stack, of the root or of a nested one: (its properties, with what the root passes
    its parent resolved, and the template its Location names)."""
    return {
        name: (app["Properties"], NESTED[app["Properties"]["Location"]])
        for name, app in of_type(RESOURCES, "AWS::Serverless::Application").items()
    }


def refs(node: Any) -> set[str]:
    """Every resource or parameter name a node refers to (Ref, GetAtt, and ${Name} in Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.add(str(value).split(".")[0])
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def statements(document: dict) -> list[dict]:
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
