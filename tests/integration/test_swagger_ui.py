"""The Swagger UI at /docs in a real browser: headless Chromium tries POST /predict on the local run.

Chromium (the `browser` fixture, conftest.py) runs with no route to the internet and the page's own
Content-Security-Policy: the UI must load its assets from the API and send nothing elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("selenium.webdriver", reason="selenium is not installed (make venv)")
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "build" / "swagger-ui.png"
REVIEW = "A wonderful film: brilliant acting, a moving story, and I loved every minute."


def test_try_predict_from_the_docs_page(browser, local_run):
    wait = WebDriverWait(browser, 60)
    browser.get(f"{local_run.url}/docs")
    summary = wait.until(
        ec.element_to_be_clickable(
            (By.CSS_SELECTOR, ".opblock-post .opblock-summary-path[data-path='/predict']")
        )
    )
    summary.click()
    operation = summary.find_element(By.XPATH, "ancestor::div[contains(@class, 'opblock-post')]")
    wait.until(lambda _: operation.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    editor = wait.until(lambda _: operation.find_element(By.CSS_SELECTOR, "textarea.body-param__text"))
    editor.clear()
    editor.send_keys(json.dumps({"text": REVIEW}))
    operation.find_element(By.CSS_SELECTOR, "button.execute").click()

    status = wait.until(
        lambda _: operation.find_element(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
        )
    )
    body_block = operation.find_element(
        By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description pre"
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", status)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))

    assert status.text.strip() == "200", body_block.text
    answer = json.loads(body_block.text)
    (prediction,) = answer["predictions"]
    assert prediction["label"] == "positive" and 0.5 < prediction["score"] <= 1
    assert SCREENSHOT.stat().st_size > 10_000

    problems = [
        entry["message"]
        for entry in browser.get_log("browser")
        if (entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"])
        and "/favicon.ico " not in entry["message"]  # the browser's own guess; the API has no icon
    ]
    assert not problems, problems  # no blocked asset, no CSP violation, no request to elsewhere
