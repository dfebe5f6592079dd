"""The local run (`python -m local_run`, what `make run` starts) as a fixture, on free ports; and
headless Chromium for the browser tests (`make browser` installs Debian's chromium and chromium-driver)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import serving_local_run


@pytest.fixture(scope="session")
def local_run():
    with serving_local_run() as run:
        yield run
    process, output = run.process, run.output
    assert process.returncode == 0, "".join(output[-200:])
    assert "stopped" in "".join(output[-5:])


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    """Chromium with no route to the internet: a dead proxy for every host but this one."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (make venv)")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "chromium and chromium-driver are not installed: `make browser` (root, Debian) installs them"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (
        "--headless",
        "--no-sandbox",  # runs as root in CI containers
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,2000",
        f"--user-data-dir={profile}",
        "--proxy-server=http://127.0.0.1:9",  # nothing answers there: no internet; loopback goes direct
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
