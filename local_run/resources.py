"""The AWS resources template.yaml defines, created on the local endpoint (moto) from the template itself.

Tables (keys, billing), queues (redrive policies), the file-event bus, the fan-out's start rule and
the functions' environment variables are read from template.yaml and its nested templates (one view:
local_run/stack_template.py), so the local run cannot drift from what is deployed.
What AWS does that moto cannot is stood in for here, and said where.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import boto3

from functions.events import EVENT_SOURCE
from local_run.fanout import state_machine_arn
from local_run.stack_template import REPO
from local_run.stack_template import deployed as template
from local_run.stack_template import load as load_template

PREFIX = "imdb-sentiment"
# Lambda is S3's (and EventBridge's) target in AWS; here S3 notifies this queue, which a poller drains.
UPLOADS_QUEUE = f"{PREFIX}-uploads"
FILE_EVENTS_QUEUE = f"{PREFIX}-file-events"
# Local function name -> the template's logical id.
FUNCTIONS = {
    "api": "ApiFunction",
    "worker": "WorkerFunction",
    "batch": "BatchFunction",
    "fanout-split": "FanoutSplitFunction",
    "fanout-score": "FanoutScoreFunction",
    "fanout-merge": "FanoutMergeFunction",
    "shadow": "ShadowFunction",  # started only with a shadow candidate (local_run/shadow.py)
}
NO_VALUE = {"Ref": "AWS::NoValue"}


def resources_of(kind: str) -> dict[str, dict]:
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def local_name(logical_id: str) -> str:
    """JobsDeadLetterQueue -> imdb-sentiment-jobs-dead-letter; JobsTable -> imdb-sentiment-jobs."""
    stem = re.sub(r"(Table|Queue|Bus)$", "", logical_id)
    return PREFIX + "".join(f"-{word.lower()}" for word in re.findall(r"[A-Z][a-z0-9]*", stem))


def parameter_value(name: str) -> object:
    """A parameter as this run deploys it: a value set in this environment for a variable the template
    binds to it (SHADOW_MODEL_VERSION=... make run, like --parameter-overrides), else its default."""
    for logical_id in FUNCTIONS.values():
        variables = (
            template()["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        )
        for key, value in variables.items():
            if value == {"Ref": name} and os.environ.get(key):
                return os.environ[key]
    return template()["Parameters"][name].get("Default", "")


def condition(name: str) -> bool:
    """A template condition, evaluated with the parameters as parameter_value gives them."""

    def value(node: object) -> object:
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in template()["Parameters"]:
            return str(parameter_value(node["Ref"]))
        if isinstance(node, dict) and set(node) == {"Condition"}:
            return condition(node["Condition"])
        if isinstance(node, dict) and len(node) == 1:
            ((function, args),) = node.items()
            if function == "Fn::Equals":
                return value(args[0]) == value(args[1])
            if function == "Fn::Not":
                return not value(args[0])
            if function == "Fn::And":
                return all(value(a) for a in args)
            if function == "Fn::Or":
                return any(value(a) for a in args)
        return str(node) if not isinstance(node, dict) else node

    return bool(value(template()["Conditions"][name]))


def parameter_default(node: object) -> object:
    """A value as deployed with the defaults: a Ref to a parameter is that parameter's default."""
    if isinstance(node, dict) and "Ref" in node and node["Ref"] in template().get("Parameters", {}):
        return template()["Parameters"][node["Ref"]].get("Default", "")
    return node


# The rules that route an upload by its size: to the fan-out's state machine, or to the batch function.
START_RULES = {"fanout": "FanoutStartRule", "batch": "BatchStartRule"}


def rule_pattern(logical_id: str) -> dict:
    """A rule's event pattern as deployed with the defaults (a JSON string under Fn::Sub in the template)."""
    pattern = template()["Resources"][logical_id]["Properties"]["EventPattern"]
    if isinstance(pattern, dict) and "Fn::Sub" in pattern:

        def value(match: re.Match) -> str:
            name = match.group(1)
            return Resources.bucket if name == "DataBucket" else str(parameter_default({"Ref": name}))

        pattern = json.loads(re.sub(r"\$\{(\w+)\}", value, pattern["Fn::Sub"]))
    return pattern


def start_rule_patterns() -> list[str]:
    """The object-key wildcards of the rule that starts the fan-out (incoming/*.csv, ...)."""
    return [matcher["wildcard"] for matcher in rule_pattern("FanoutStartRule")["detail"]["object"]["key"]]


def function_timeout(function: str) -> float:
    """A local function's Timeout in seconds, as the template gives it (a parameter's default if a Ref)."""
    return float(parameter_default(template()["Resources"][FUNCTIONS[function]]["Properties"]["Timeout"]))


def async_retries(logical_id: str) -> int:
    """How often Lambda retries a failed asynchronous invocation of the function (EventInvokeConfig)."""
    config = template()["Resources"][logical_id]["Properties"].get("EventInvokeConfig", {})
    return int(config.get("MaximumRetryAttempts", 2))  # Lambda's default


@dataclass(frozen=True)
class Resources:
    bucket: str = f"{PREFIX}-local"
    queue_urls: dict[str, str] = field(default_factory=dict)  # logical id -> URL
    # The model registry (the pipeline stack's ArtifactsBucket in AWS), to try `make publish-model` on.
    artifacts_bucket: str = f"{PREFIX}-artifacts-local"
    uploads_queue_url: str = ""
    file_events_queue_url: str = ""  # a rule on the bus copies every file event here, for people and tests

    jobs_table: str = local_name("JobsTable")
    idempotency_table: str = local_name("IdempotencyTable")
    event_bus: str = local_name("FanoutEventBus")

    @property
    def jobs_queue_url(self) -> str:
        return self.queue_urls.get("JobsQueue", "")

    @property
    def jobs_dlq_url(self) -> str:
        return self.queue_urls.get("JobsDeadLetterQueue", "")

    @property
    def batch_queue_url(self) -> str:
        return self.uploads_queue_url

    def _value(self, node: object) -> str | None:
        """A template value as it resolves here: Refs to local names, parameters to their defaults, a
        condition's branch as it evaluates here, a nested stack's output to its value; None for NoValue."""
        if node == NO_VALUE:
            return None
        if isinstance(node, dict) and "Fn::If" in node:
            name, true, false = node["Fn::If"]
            return self._value(true if condition(name) else false)
        if (
            isinstance(node, dict)
            and "Fn::GetAtt" in node
            and str(node["Fn::GetAtt"][1]).startswith("Outputs.")
        ):
            stack, output = node["Fn::GetAtt"][0], node["Fn::GetAtt"][1].removeprefix("Outputs.")
            location = template()["Resources"][stack]["Properties"]["Location"]
            return self._value(load_template(REPO / location)["Outputs"][output]["Value"])
        if isinstance(node, dict) and "Ref" in node:
            ref = node["Ref"]
            if ref in self.queue_urls:
                return self.queue_urls[ref]
            if ref in template().get("Parameters", {}):
                return str(parameter_default(node))
            if ref == "FanoutStateMachine":
                return state_machine_arn()
            return self.bucket if ref == "DataBucket" else local_name(ref)
        if node == template()["Resources"]["DataBucket"]["Properties"]["BucketName"]:
            return self.bucket  # the bucket named by its name (the API's DATA_BUCKET)
        return str(node)

    def environment(self, function: str | None = None) -> dict[str, str]:
        """The variables the template gives a function (its template's Globals and its own); all
        functions' if None."""
        variables: dict = {}
        names = [FUNCTIONS[function]] if function else list(FUNCTIONS.values())
        for name in names:
            own = template()["Resources"][name]["Properties"].get("Environment", {}).get("Variables", {})
            variables.update(own)
        # A variable bound to a parameter takes a value set in this environment, as a deployment's
        # --parameter-overrides would (CORS_ALLOWED_ORIGINS=... make run); otherwise the default.
        resolved = {
            key: os.environ.get(key) or self._value(value) if _is_parameter(value) else self._value(value)
            for key, value in variables.items()
        }
        return {key: value for key, value in resolved.items() if value is not None}


def _is_parameter(node: object) -> bool:
    return isinstance(node, dict) and node.get("Ref") in template().get("Parameters", {})


def _queue_attributes(props: dict, urls: dict[str, str], sqs, visibility_timeout: int) -> dict[str, str]:
    attributes = {"VisibilityTimeout": str(visibility_timeout)}  # short here: retries within a test
    if "MessageRetentionPeriod" in props:
        attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
    if redrive := props.get("RedrivePolicy"):
        target = urls[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
        arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": arn,
                "maxReceiveCount": int(parameter_default(redrive["maxReceiveCount"])),
            }
        )
    return attributes


def create_resources(visibility_timeout: int = 5) -> Resources:
    """Bucket, tables, queues, file-event bus and upload notification, as the template has them."""
    s3, sqs, dynamodb = boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb")
    names = Resources()
    s3.create_bucket(Bucket=names.bucket)
    versioning = template()["Resources"]["DataBucket"]["Properties"].get("VersioningConfiguration")
    if versioning:  # an overwritten or deleted file keeps its previous version, as deployed
        s3.put_bucket_versioning(Bucket=names.bucket, VersioningConfiguration=dict(versioning))
    s3.create_bucket(Bucket=names.artifacts_bucket)
    s3.put_bucket_versioning(Bucket=names.artifacts_bucket, VersioningConfiguration={"Status": "Enabled"})
    for logical_id, table in resources_of("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        dynamodb.create_table(
            TableName=local_name(logical_id),
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props["BillingMode"],
        )
    urls: dict[str, str] = {}
    queues = resources_of("AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy names its target's ARN.
    for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q]["Properties"]):
        props = queues[logical_id]["Properties"]
        urls[logical_id] = sqs.create_queue(
            QueueName=local_name(logical_id),
            Attributes=_queue_attributes(props, urls, sqs, visibility_timeout),
        )["QueueUrl"]
    uploads = sqs.create_queue(
        QueueName=UPLOADS_QUEUE, Attributes={"VisibilityTimeout": str(visibility_timeout * 12)}
    )["QueueUrl"]
    uploads_arn = sqs.get_queue_attributes(QueueUrl=uploads, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # EventBridge notifications of S3 do not reach rules in moto: S3 notifies the uploads queue, and
    # local_run.pollers.UploadRouter applies the start rules (FanoutStartRule, BatchStartRule).
    s3.put_bucket_notification_configuration(
        Bucket=names.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": uploads_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
                }
            ],
        },
    )
    return Resources(
        queue_urls=urls,
        uploads_queue_url=uploads,
        file_events_queue_url=_file_events(names.event_bus, sqs),
    )


# CloudFormation's CORS rule keys -> S3's PutBucketCors keys.
_CORS_KEYS = {
    "Id": "ID",
    "AllowedMethods": "AllowedMethods",
    "AllowedHeaders": "AllowedHeaders",
    "ExposedHeaders": "ExposeHeaders",
    "MaxAge": "MaxAgeSeconds",
}


def bucket_cors(page_origin: str) -> dict:
    """The data bucket's CORS rules as the template has them, the page's origin (in AWS the API's URL
    or UploadPageOrigin) being the local API's."""
    cors = template()["Resources"]["DataBucket"]["Properties"].get("CorsConfiguration", {})
    rules = [{_CORS_KEYS[k]: v for k, v in r.items() if k in _CORS_KEYS} for r in cors.get("CorsRules", [])]
    return {"CORSRules": [{**rule, "AllowedOrigins": [page_origin]} for rule in rules]}


def _file_events(bus: str, sqs) -> str:
    """The stack's event bus, and a queue that receives its file events."""
    events = boto3.client("events")
    events.create_event_bus(Name=bus)
    url = sqs.create_queue(QueueName=FILE_EVENTS_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="file-events", EventBusName=bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="file-events", EventBusName=bus, Targets=[{"Id": "file-events", "Arn": arn}])
    return url
