"""Two per-request costs of moto's server and Step Functions interpreter that AWS does not have.

Measured on a fan-out of one-row chunks, they were a quarter of the local run's CPU per chunk:
- moto's server lists and stats its own package directory on every request to find the backend
  for a host (`backends.list_of_moto_modules`); the list cannot change while the server runs.
- the interpreter builds a new boto3 client (and so a new connection) for every Lambda task and
  item read (`boto_client_for`); a client is thread-safe and can be kept.
Neither changes what is executed: the same requests reach the same backends.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest import mock

import boto3
from botocore.client import BaseClient
from botocore.config import Config

# The interpreter's modules that import boto_client_for by name: each holds its own reference.
_CLIENT_USERS = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
)
# Chunk tasks wait on their Lambda call for the whole chunk: one connection each, up to this many.
CONNECTIONS = 1000


@contextmanager
def lighter_moto() -> Iterator[None]:
    """While open, moto's server finds backends from a cached module list and the Step Functions
    interpreter reuses one client per service and region."""
    import importlib

    from moto import backends
    from moto.stepfunctions.parser.asl.utils import boto_client

    modules = tuple(backends.list_of_moto_modules())
    original = boto_client.boto_client_for

    @functools.cache
    def client(region: str, service: str) -> BaseClient:
        made = original(region=region, service=service)
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=made.meta.endpoint_url,
            aws_access_key_id="ak",  # what moto's own clients use
            aws_secret_access_key="sk",  # noqa: S106 (moto's placeholder, not a secret)
            config=made.meta.config.merge(Config(max_pool_connections=CONNECTIONS)),
        )

    def boto_client_for(region: str, service: str, state_credentials: object = None) -> BaseClient:
        return client(region, service)  # moto's own ignores the credentials too

    with ExitStack() as patches:
        patches.enter_context(mock.patch.object(backends, "list_of_moto_modules", lambda: modules))
        for name in _CLIENT_USERS:
            module = importlib.import_module(name)
            patches.enter_context(mock.patch.object(module, "boto_client_for", boto_client_for))
        yield
