"""The stack as CloudFormation deploys it: template.yaml with its nested templates merged into one view.

A nested stack (an AWS::Serverless::Application whose Location is a file here) sees the root only
through the parameters it is passed. Merging replaces each reference to such a parameter with the
value passed, so a nested resource reads as if the root declared it: a Ref to a root parameter, a
GetAtt of a root resource. The Application resources stay, and `!GetAtt Stack.Outputs.X` with them.
A resource keeps its name, unless its template is used more than once (the per-function alarms) or
the name is taken: then it is "<stack>.<name>", and its template's references follow.

Each function's Environment also gets its template's Globals, since a nested stack has its own, and
file paths (a state machine's DefinitionUri, a function's CodeUri or DockerContext) are made relative
to the repository, whichever template wrote them.
The local stack, the container tier and the infrastructure tests read this one view.
"""

from __future__ import annotations

import copy
import functools
import re
from collections import Counter
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "template.yaml"
APPLICATION = "AWS::Serverless::Application"
FUNCTION = "AWS::Serverless::Function"


def load(path: Path) -> dict:
    return cfn_yaml.load(str(path))


@functools.cache
def deployed(path: Path = ROOT) -> dict:
    """The template at `path` with every nested template's resources merged into it."""
    template = copy.deepcopy(load(path))
    _fold_globals(template)
    _rebase_paths(template, path.parent)
    nested = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == APPLICATION and isinstance(resource["Properties"]["Location"], str)
    }
    for stack, resource in nested.items():
        location = (path.parent / resource["Properties"]["Location"]).resolve()
        resource["Properties"]["Location"] = location.relative_to(REPO).as_posix()
        child = deployed(location)
        child = _substitute(child, _passed(child, resource["Properties"].get("Parameters", {})))
        names = child["Resources"]
        if _uses()[location] > 1 or set(names) & set(template["Resources"]):
            names = {f"{stack}.{name}": value for name, value in _rename(names, stack).items()}
        template["Resources"].update(names)
    return template


@functools.cache
def _uses() -> Counter[Path]:
    """How many nested stacks, anywhere in the stack, use each template."""
    found: Counter[Path] = Counter()
    pending = [ROOT]
    while pending:
        path = pending.pop()
        for resource in load(path)["Resources"].values():
            if resource["Type"] == APPLICATION and isinstance(resource["Properties"]["Location"], str):
                location = (path.parent / resource["Properties"]["Location"]).resolve()
                found[location] += 1
                pending.append(location)
    return found


def _fold_globals(template: dict) -> None:
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for resource in template["Resources"].values():
        if resource["Type"] == FUNCTION:
            environment = resource["Properties"].setdefault("Environment", {})
            environment["Variables"] = {**variables, **environment.get("Variables", {})}


def _rebase_paths(template: dict, directory: Path) -> None:
    for resource in template["Resources"].values():
        for holder, key in (
            (resource.get("Properties", {}), "DefinitionUri"),
            (resource.get("Properties", {}), "CodeUri"),
            (resource.get("Metadata", {}), "DockerContext"),
        ):
            if isinstance(holder.get(key), str):
                holder[key] = (directory / holder[key]).resolve().relative_to(REPO).as_posix()


def _passed(child: dict, given: dict) -> dict[str, Any]:
    """Each of the child's parameters: the value its parent passes, else its default."""
    parameters = child.get("Parameters", {})
    return {**{name: spec["Default"] for name, spec in parameters.items() if "Default" in spec}, **given}


def _substitute(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in values:
            return copy.deepcopy(values[node["Ref"]])
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            return {"Fn::Sub": re.sub(r"\$\{([\w:.]+)\}", lambda m: _sub_name(m, values), node["Fn::Sub"])}
        return {key: _substitute(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, values) for value in node]
    return node


def _sub_name(match: re.Match, values: dict[str, Any]) -> str:
    """${Param} in a Fn::Sub string, written as the parent's own reference where it has one."""
    value = values.get(match.group(1))
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    return match.group(0)


def _rename(resources: dict, stack: str) -> dict:
    """The resources with every reference among them to one of them prefixed by "<stack>."."""
    own = set(resources)

    def name(logical_id: str) -> str:
        return f"{stack}.{logical_id}" if logical_id in own else logical_id

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"}:
                return {"Ref": name(node["Ref"])}
            if set(node) == {"Fn::GetAtt"} and isinstance(node["Fn::GetAtt"], list):
                return {"Fn::GetAtt": [name(node["Fn::GetAtt"][0]), *node["Fn::GetAtt"][1:]]}
            if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
                text = re.sub(r"\$\{(\w+)([.}])", lambda m: "${" + name(m[1]) + m[2], node["Fn::Sub"])
                return {"Fn::Sub": text}
            return {key: visit(value) for key, value in node.items()}
        if isinstance(node, list):
            return [visit(value) for value in node]
        return node

    return visit(resources)
