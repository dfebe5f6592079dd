"""The upload page at / in a real browser, on the local run: an analyst's file of 3,000 reviews with a
`movie` and a `date` column is chosen, uploaded to S3 with the signed form, followed to done, its
report shown in the page and its scored CSV downloaded.

Chromium (the `browser` fixture, conftest.py) runs as for the Swagger UI test: no route to the
internet, the page's own Content-Security-Policy. The reviews are IMDB's ($IMDB_DATA_DIR, else
../shared/data/imdb); without them the test skips.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import importlib.util
import io
import itertools
import os
import re
from pathlib import Path

import pytest
import requests

from local_run.resources import Resources

pytest.importorskip("selenium.webdriver", reason="selenium is not installed (make venv)")
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[2]
IMDB = Path(os.environ.get("IMDB_DATA_DIR", REPO.parent / "shared" / "data" / "imdb")) / "train.csv.gz"
SCREENSHOT = REPO / "build" / "upload-page.png"
REPORT_SCREENSHOT = REPO / "build" / "upload-page-report.png"
ROWS = 3_000
MOVIES = ["Night Train", "The Long Summer", "Paper Moons", "Harbour Lights", "Iron Valley", "Quiet Hours"]
# The scoring writes scored/<name>.report.html where sentiment_core.report exists.
WRITES_REPORTS = importlib.util.find_spec("sentiment_core.report") is not None


@pytest.fixture(scope="module")
def reviews_file(tmp_path_factory) -> Path:
    """3,000 IMDB training reviews (every 8th, so both labels; their first 300 characters) with a movie
    and a date column."""
    if not IMDB.exists():
        pytest.skip(f"the IMDB data is not at {IMDB}")
    path = tmp_path_factory.mktemp("upload") / "reviews.csv"
    start = datetime.date(2024, 1, 1)
    with gzip.open(IMDB, "rt", encoding="utf-8", newline="") as source, path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["movie", "date", "text"])
        for i, row in enumerate(itertools.islice(csv.DictReader(source), 0, ROWS * 8, 8)):
            day = start + datetime.timedelta(days=(i * 7) % 180)
            writer.writerow([MOVIES[i % len(MOVIES)], day.isoformat(), row["text"][:300]])
    return path


def visible_error(driver) -> str:
    box = driver.find_element(By.ID, "error")
    return box.text if box.is_displayed() else ""


def test_the_bucket_lets_only_the_page_origin_upload(local_run):
    """The local bucket carries the template's CORS rule, and moto's answer-everyone CORS is off. (moto
    does not hold a preflight to the rule's methods; the rule's POST alone is checked in tests/infra.)"""
    bucket = f"{local_run.aws_endpoint}/{Resources().bucket}"

    def preflight(origin: str) -> str | None:
        headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        answer = requests.options(bucket, headers=headers, timeout=10)
        return answer.headers.get("Access-Control-Allow-Origin")

    assert preflight(local_run.url) == local_run.url
    assert preflight("https://elsewhere.example") is None


def test_the_page_refuses_a_file_that_is_not_a_csv(browser, local_run, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("text\nnot a csv name\n")
    browser.get(f"{local_run.url}/")
    browser.find_element(By.ID, "file-input").send_keys(str(notes))
    browser.find_element(By.ID, "upload-button").click()
    WebDriverWait(browser, 10).until(visible_error)
    assert visible_error(browser) == "The file must be a .csv or a .csv.gz file."
    assert browser.find_element(By.ID, "progress-section").is_displayed() is False


def test_a_file_that_cannot_be_scored_is_shown_failed_with_the_reason(browser, local_run, tmp_path):
    workbook = tmp_path / "workbook.csv"  # an .xlsx saved under a .csv name
    workbook.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    browser.get(f"{local_run.url}/")
    browser.find_element(By.ID, "file-input").send_keys(str(workbook))
    browser.find_element(By.ID, "upload-button").click()
    WebDriverWait(browser, 120, poll_frequency=0.5).until(visible_error)
    assert visible_error(browser).startswith("Scoring failed: the file is a zip archive")
    assert browser.find_element(By.ID, "state").text == "Scoring failed."
    assert not browser.find_element(By.ID, "result").is_displayed()
    assert browser.find_element(By.ID, "upload-button").is_enabled()  # another file may be tried


def test_the_page_puts_an_s3_refusal_in_words(browser, local_run):
    # moto accepts every upload, so S3's refusals are given to the page's own handling, in the browser.
    browser.get(f"{local_run.url}/")
    refusal = (
        "<?xml version='1.0'?><Error><Code>EntityTooLarge</Code>"
        "<Message>Your proposed upload exceeds the maximum allowed size</Message></Error>"
    )
    words = browser.execute_script(
        "return window.uploadPage.s3Message(400, arguments[0], 104857600)", refusal
    )
    assert words == "The file is too large: an upload may be at most 100 MB. Split it into smaller files."


def test_the_controls_are_reached_by_keyboard_with_a_visible_focus(browser, local_run):
    browser.get(f"{local_run.url}/")
    reached = []
    for _ in range(6):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        element = browser.switch_to.active_element
        outline = browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", element)
        reached.append((element.get_attribute("id") or element.tag_name, outline))
    ids = [name for name, _ in reached]
    assert ids.index("file-input") < ids.index("group-column") < ids.index("upload-button"), reached
    assert all(outline != "none" for name, outline in reached if name in ("group-column", "upload-button"))


def test_an_analyst_uploads_a_file_and_gets_its_report_and_scored_csv(
    browser,
    local_run,
    reviews_file,
):
    browser.get(f"{local_run.url}/")
    assert browser.title == "Sentiment of a file of reviews"
    browser.find_element(By.ID, "group-column").send_keys("movie")
    browser.find_element(By.ID, "file-input").send_keys(str(reviews_file))
    assert "reviews.csv" in browser.find_element(By.ID, "chosen").text
    browser.find_element(By.ID, "upload-button").click()

    seen_states: set[str] = set()

    def finished(driver) -> bool:
        if problem := visible_error(driver):
            raise AssertionError(f"the page reported: {problem}")
        state = driver.find_element(By.ID, "state").text
        seen_states.add(state.split(":")[0])
        return state.startswith("Done")

    WebDriverWait(browser, 600, poll_frequency=0.5).until(finished)
    assert browser.find_element(By.ID, "upload-progress").get_attribute("value") == "100"
    assert browser.find_element(By.ID, "scoring-progress").get_attribute("value") == "100"
    assert browser.find_element(By.ID, "state").text == f"Done: {ROWS:,} rows scored."
    figures = dict(
        zip(
            [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#figures dt")],
            [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#figures dd")],
            strict=True,
        )
    )
    assert figures["Rows"] == figures["Scored"] == f"{ROWS:,}" and figures["Rows with errors"] == "0"
    assert 30 <= int(figures["Positive reviews"].rstrip("%")) <= 70, figures  # IMDB's are half positive
    assert figures["Time taken"].endswith(" s")
    following = {"Uploaded; scoring starts in a moment.", "Scoring has started.", "Scoring"}
    assert seen_states & following, seen_states  # the page showed the file on its way
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))

    # The download: the scored CSV, every row with its label.
    link = browser.find_element(By.ID, "download-csv")
    assert link.text == "Download the scored CSV"
    download = requests.get(link.get_attribute("href"), timeout=30)
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="reviews.scored.csv"'
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == ROWS and rows[0].keys() >= {"movie", "date", "text", "label", "score", "error"}
    assert {r["label"] for r in rows} == {"positive", "negative"} and {r["movie"] for r in rows} == set(
        MOVIES
    )

    # Opened again (the address keeps the file), the page follows the file to done with fresh links.
    (file_id,) = re.findall(r"/scored/([0-9a-f-]{36})/reviews\.csv\?", link.get_attribute("href"))
    assert browser.current_url == f"{local_run.url}/#file={file_id}"
    browser.refresh()
    WebDriverWait(browser, 30).until(finished)
    fresh = browser.find_element(By.ID, "download-csv").get_attribute("href")
    assert fresh.startswith(f"{local_run.aws_endpoint}/") and file_id in fresh

    problems = [
        entry["message"]
        for entry in browser.get_log("browser")
        if (entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"])
        and "/favicon.ico " not in entry["message"]
    ]
    assert not problems, problems

    frame = browser.find_element(By.ID, "report-frame")
    if not WRITES_REPORTS:
        assert browser.find_element(By.ID, "no-report").is_displayed() and not frame.is_displayed()
        pytest.skip("this build writes no report (sentiment_core.report is absent): the frame is not shown")
    # The report, inline: a chart and the per-movie table.
    assert frame.is_displayed() and frame.get_attribute("sandbox") == ""
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", frame)
    browser.save_screenshot(str(REPORT_SCREENSHOT))
    browser.switch_to.frame(frame)
    try:
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.TAG_NAME, "svg"))
        headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
        assert "By movie" in headings, headings
        table = browser.find_element(By.XPATH, "//h2[text()='By movie']/following::table[1]")
        assert {movie for movie in MOVIES if movie in table.text} == set(MOVIES)
    finally:
        browser.switch_to.default_content()
