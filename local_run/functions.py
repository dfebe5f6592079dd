"""Lambda functions on this machine: each in its own worker processes, and reachable through moto.

A FunctionPool is one function's execution environments: `concurrency` processes, each importing
the handler once (its cold start) and serving one invocation at a time, as a Lambda sandbox does.
Each invocation gets the function's timeout from the template: the context's remaining time counts
down from it, and at the timeout the worker is killed and replaced, the caller told
"Sandbox.Timedout" as Lambda tells it, so a runaway file never holds a worker longer than on AWS.
`route_invocations` makes moto's Lambda Invoke (what Step Functions' lambda:invoke tasks call)
run these functions instead of moto's echo.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from multiprocessing.connection import Connection

from local_run.lambda_context import LocalLambdaContext

Invoke = Callable[[dict], dict]
TIMED_OUT = "Sandbox.Timedout"  # the errorType Lambda reports for an invocation that ran out of time

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


def _invoke(event: dict, timeout_s: float) -> tuple[bool, object]:
    # Exceptions travel back as data: a handler's exception may not survive pickling.
    try:
        return True, _handler(event, LocalLambdaContext(function_name=_name, timeout_s=timeout_s))
    except Exception as error:
        return False, (type(error).__name__, str(error))


def _serve(
    connection: Connection, module: str, name: str, environment: dict[str, str], timeout_s: float
) -> None:
    """A worker process: load the handler once, then serve one invocation at a time until closed."""
    _load(module, name, environment)
    connection.send("ready")
    while True:
        try:
            event = connection.recv()
        except EOFError:
            return
        connection.send(_invoke(event, timeout_s))


class _Worker:
    """One execution environment: a process and the pipe its invocations travel on."""

    def __init__(
        self, context, module: str, name: str, environment: dict[str, str], timeout_s: float
    ) -> None:
        self.connection, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(theirs, module, name, environment, timeout_s),
            name=f"lambda-{name}",
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self.ready = False

    def wait_ready(self) -> None:
        """The cold start: not counted in the invocation's time, as Lambda counts init apart."""
        if not self.ready:
            if self.connection.recv() != "ready":
                raise RuntimeError("the worker did not start")
            self.ready = True

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=10)
        self.connection.close()


class FunctionPool:
    def __init__(
        self, name: str, module: str, concurrency: int, environment: Mapping[str, str], timeout_s: float = 900
    ) -> None:
        self.name, self.concurrency, self.timeout_s = name, concurrency, timeout_s
        self._spawn_args = (module, name, dict(environment), timeout_s)
        self._context = multiprocessing.get_context("spawn")  # no inherited threads or moto state
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._workers = [self._spawn() for _ in range(concurrency)]
        for worker in self._workers:
            self._idle.put(worker)

    def _spawn(self) -> _Worker:
        return _Worker(self._context, *self._spawn_args)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        fresh = self._spawn()  # its cold start runs while the pool serves on
        self._workers[self._workers.index(worker)] = fresh
        self._idle.put(fresh)

    def warm(self) -> None:
        """Wait for every worker's cold start now, so the first request does not pay for the model load."""
        for worker in list(self._workers):
            worker.wait_ready()

    def __call__(self, event: dict, context: object = None) -> dict:
        worker = self._idle.get()
        try:
            worker.wait_ready()
            worker.connection.send(event)
            if not worker.connection.poll(self.timeout_s):
                self._replace(worker)
                raise FunctionError(TIMED_OUT, f"Task timed out after {self.timeout_s:.2f} seconds")
            ok, result = worker.connection.recv()
        except (EOFError, OSError, RuntimeError) as error:  # the process died (out of memory, a crash)
            self._replace(worker)
            raise FunctionError(
                "Runtime.ExitError", f"the execution environment exited ({error!r})"
            ) from None
        self._idle.put(worker)
        if not ok:
            raise FunctionError(*result)
        return result

    def stop(self) -> None:
        for worker in self._workers:
            worker.kill()


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
