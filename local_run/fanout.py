"""The CSV fan-out's state machine, built from the same definition and parameters the template deploys."""

from __future__ import annotations

import re
from pathlib import Path

from local_run.stack_template import deployed

REPO = Path(__file__).resolve().parents[1]
DEFINITION = REPO / "statemachine" / "csv_fanout.asl.json"
ACCOUNT, REGION = "123456789012", "us-east-1"
# Function name -> handler module; the names stand in for the template's function ARNs.
FUNCTIONS = {
    "fanout-split": "functions.fanout.split",
    "fanout-score": "functions.fanout.score",
    "fanout-merge": "functions.fanout.merge",
}
STATE_MACHINE_NAME = "imdb-sentiment-csv-fanout"
# Substitution -> the local function whose ARN fills it.
FUNCTION_SUBSTITUTIONS = {
    "SplitFunctionArn": "fanout-split",
    "ScoreFunctionArn": "fanout-score",
    "MergeFunctionArn": "fanout-merge",
}
# Substitution -> the template parameter that sets it (the state machine's DefinitionSubstitutions).
TEMPLATE_PARAMETERS = {
    "ChunkRows": "FanoutChunkRows",
    "MaxConcurrency": "FanoutMaxConcurrency",
    "RetryIntervalSeconds": "FanoutRetrySeconds",
}


def _arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def state_machine_arn() -> str:
    """The ARN create_state_machine's machine gets (moto's account and region)."""
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"


def template_parameter(name: str) -> str:
    return str(deployed()["Parameters"][name]["Default"])


def definition(**overrides: object) -> str:
    """The ASL with its ${...} substitutions filled as the template fills them (overrides for tests)."""
    values = {name: _arn(function) for name, function in FUNCTION_SUBSTITUTIONS.items()}
    values.update({k: str(v) for k, v in overrides.items()})
    for name, parameter in TEMPLATE_PARAMETERS.items():
        if name not in values:
            values[name] = template_parameter(parameter)
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], DEFINITION.read_text())


def create_state_machine(sfn, **overrides: object) -> str:
    return sfn.create_state_machine(
        name=STATE_MACHINE_NAME,
        definition=definition(**overrides),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/{STATE_MACHINE_NAME}",
        type="STANDARD",
    )["stateMachineArn"]
