"""The local run (`python -m local_run`, what `make run` starts) as a fixture, on free ports."""

from __future__ import annotations

import pytest

from tests.helpers import serving_local_run


@pytest.fixture(scope="session")
def local_run():
    with serving_local_run() as run:
        yield run
    process, output = run.process, run.output
    assert process.returncode == 0, "".join(output[-200:])
    assert "stopped" in "".join(output[-5:])
