"""Lambda functions on this machine: each in its own worker processes, and reachable through moto.

A FunctionPool is one function's execution environments: `concurrency` processes, each importing
the handler once (its cold start) and serving one invocation at a time, as a Lambda sandbox does.
`route_invocations` makes moto's Lambda Invoke (what Step Functions' lambda:invoke tasks call)
run these functions instead of moto's echo.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from local_run.lambda_context import LocalLambdaContext

Invoke = Callable[[dict], dict]

_handler: Callable | None = None
_name = ""


def _load(module: str, name: str, environment: dict[str, str]) -> None:
    global _handler, _name
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the run, which then stops its workers
    os.environ.update(environment)
    _handler, _name = importlib.import_module(module).lambda_handler, name


class FunctionError(Exception):
    """The handler raised: what Lambda reports as an unhandled function error."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _invoke(event: dict) -> tuple[bool, object]:
    # Exceptions travel back as data: a handler's exception may not survive pickling.
    try:
        return True, _handler(event, LocalLambdaContext(function_name=_name, timeout_s=900))
    except Exception as error:
        return False, (type(error).__name__, str(error))


class FunctionPool:
    def __init__(self, name: str, module: str, concurrency: int, environment: Mapping[str, str]) -> None:
        self.name, self.concurrency = name, concurrency
        self._pool = ProcessPoolExecutor(
            max_workers=concurrency,
            mp_context=multiprocessing.get_context("spawn"),  # no inherited threads or moto state
            initializer=_load,
            initargs=(module, name, dict(environment)),
        )

    def warm(self) -> None:
        """Start every worker now, so the first request does not pay for the model load."""
        list(self._pool.map(_noop, range(self.concurrency)))

    def __call__(self, event: dict, context: object = None) -> dict:
        ok, result = self._pool.submit(_invoke, event).result()
        if not ok:
            raise FunctionError(*result)
        return result

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _noop(_: int) -> None:
    return None


def _error_payload(error: Exception) -> bytes:
    error_type = getattr(error, "error_type", type(error).__name__)
    return json.dumps({"errorType": error_type, "errorMessage": str(error)}).encode()


@contextmanager
def route_invocations(functions: Mapping[str, Invoke]) -> Iterator[None]:
    """While open, moto's Lambda Invoke of these function names (or ARNs) calls them."""
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda_simple.models import LambdaSimpleBackend

    originals = {cls: cls.invoke for cls in (LambdaBackend, LambdaSimpleBackend)}

    def wrap(original):
        def invoke(self, function_name, qualifier, body, headers, response_headers):
            function = functions.get(function_name.rsplit(":", 1)[-1])
            if function is None:
                return original(self, function_name, qualifier, body, headers, response_headers)
            try:
                return json.dumps(function(json.loads(body or "{}"))).encode()
            except Exception as error:
                response_headers["x-amz-function-error"] = "Unhandled"
                return _error_payload(error)

        return invoke

    for cls, original in originals.items():
        cls.invoke = wrap(original)
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls.invoke = original
