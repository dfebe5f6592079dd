"""sentiment-score: texts, stdin lines and CSV files, in-process and as `python -m sentiment_cli`."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import boto3
import pytest

from sentiment_cli.cli import main
from tests.helpers import context, s3_events

REPO = Path(__file__).resolve().parents[2]
GOOD = "A wonderful film and I loved every minute."
BAD = "Dreadful and boring. Badly acted and far too long."
API_KEYS = {"label", "score", "probabilities", "truncated"}

# Semicolons, a quoted delimiter and newline, CRLF, a BOM, an empty text, an empty row, a short and a
# long row, and a byte that is not UTF-8: every row rule of the batch function.
MESSY = (
    b"\xef\xbb\xbfid;Review;stars\r\n"
    + f'1;"{GOOD}; truly";5\r\n'.encode()
    + b"2;;3\r\n"
    + b";;\r\n"
    + f'4;"{BAD}\nSecond line.";1\r\n'.encode()
    + b"5;only two\r\n"
    + f"6;{GOOD};5;extra\r\n".encode()
    + b"7;caf\xe9 latte was bad;2\r\n"
    + f"8;{BAD};1\r\n".encode()
)


def run_cli(*args: str, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sentiment_cli", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_texts_answer_in_order_in_the_api_shape(capsys):
    assert main([GOOD, BAD, "   "]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("label") for line in lines] == ["positive", "negative", None]
    assert set(lines[0]) == API_KEYS and lines[0]["score"] == lines[0]["probabilities"]["positive"]
    assert lines[2] == {"error": "empty row"}


def test_stdin_gives_one_line_out_per_line_in(monkeypatch, capsys):
    data = f"{GOOD}\n\n{BAD}\r\ncaf\xe9 bad\n{GOOD}".encode("latin-1")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["-"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 5
    assert [line.get("label") or line["error"] for line in lines] == [
        "positive",
        "empty row",
        "negative",
        "text is not valid UTF-8",
        "positive",
    ]


def test_csv_is_scored_exactly_as_the_batch_function_scores_it(batch, aws, tmp_path, capsys):
    source = tmp_path / "messy.csv"
    source.write_bytes(MESSY)
    out = tmp_path / "scored.csv"
    assert main(["--csv", str(source), "--out", str(out), "--no-progress"]) == 0
    printed = json.loads(capsys.readouterr().out)

    s3_events(aws)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws.bucket, Key="incoming/messy.csv", Body=MESSY)
    (event,) = s3_events(aws)
    batch.lambda_handler(event, context("batch"))
    from_lambda = s3.get_object(Bucket=aws.bucket, Key="scored/messy.csv")["Body"].read()
    lambda_summary = json.loads(
        s3.get_object(Bucket=aws.bucket, Key="scored/messy.summary.json")["Body"].read()
    )

    ours, theirs = (
        list(csv.reader(io.StringIO(b.decode("utf-8-sig")), delimiter=";"))
        for b in (out.read_bytes(), from_lambda)
    )
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and from_lambda.startswith(b"\xef\xbb\xbf")
    assert len(ours) == len(theirs) == 9  # header + one row per input row
    assert ours == theirs  # a score depends on the text alone, not on the thread count or chunking
    assert [row[5] for row in ours[1:]] == [  # the error column
        "",
        "empty text",
        "empty row",
        "",
        "row has 2 fields, the header has 3: padded with 1 empty field",
        "row has 4 fields, the header has 3: the last 2 are joined into the last column",
        "text is not valid UTF-8",
        "",
    ]
    assert all(len(row) == 6 for row in ours) and ours[6][2] == "5;extra"  # rectangular, nothing lost

    summary = json.loads((tmp_path / "scored.summary.json").read_text())
    assert summary == printed
    for key in (
        "rows",
        "scored",
        "positives",
        "negatives",
        "rows_with_errors",
        "text_column",
        "delimiter",
        "model",
    ):
        assert summary[key] == lambda_summary[key], key
    assert (summary["rows"], summary["scored"], summary["rows_with_errors"]) == (8, 3, 5)


def test_text_column_option_and_default_output_names(tmp_path, capsys):
    source = tmp_path / "comments.csv"
    source.write_text(f"comment,user\n{GOOD},a\n{BAD},b\n")
    assert main(["--csv", str(source), "--no-progress"]) == 1
    assert "no text column" in capsys.readouterr().err
    assert not (tmp_path / "comments.scored.csv").exists()

    assert main(["--csv", str(source), "--text-column", "Comment", "--no-progress"]) == 0
    rows = list(csv.DictReader((tmp_path / "comments.scored.csv").open()))
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert json.loads((tmp_path / "comments.scored.summary.json").read_text())["text_column"] == "comment"


def test_a_file_that_cannot_be_scored_leaves_no_output(tmp_path, capsys):
    source = tmp_path / "reviews.csv"
    source.write_bytes(gzip.compress(b"text\nfine\n"))
    out = tmp_path / "out.csv"
    out.write_text("an older result\n")
    assert main(["--csv", str(source), "--out", str(out), "--no-progress"]) == 1
    assert "gzip" in capsys.readouterr().err
    assert out.read_text() == "an older result\n"  # not replaced by a partial file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "reviews.csv"]  # no staging left


def test_usage_errors(tmp_path, capsys):
    for argv in (
        [],
        ["text", "--csv", "x.csv"],
        ["text", "--summary", "s.json"],
        ["-", "text"],
        ["--csv", str(tmp_path / "no.csv")],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2, argv
    capsys.readouterr()
    assert main(["--model-dir", str(tmp_path), "fine"]) == 1
    assert "model did not load" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["reviews.csv", "data/reviews.csv.gz", "notes.txt", "./x", "exports/10"])
def test_a_missing_file_name_is_an_error_not_a_review(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([name])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"no such file: {name}" in err and "--text" in err
    assert main(["--text", name]) == 0  # the way to score it as a review anyway
    assert json.loads(capsys.readouterr().out)["label"] in ("positive", "negative")


@pytest.mark.parametrize("rating", ["1/10", "7.5/10", "A review longer than any file name. " * 20])
def test_a_rating_or_a_long_review_is_a_review_not_a_file_name(rating, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([rating]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("positive", "negative")


def test_an_existing_file_that_is_not_a_csv_is_an_error(tmp_path, capsys):
    notes = tmp_path / "reviews.txt"
    notes.write_text(f"{GOOD}\n")
    with pytest.raises(SystemExit) as exit_:
        main([str(notes)])
    assert exit_.value.code == 2
    assert f"sentiment-score - < {notes}" in capsys.readouterr().err
    csv_file = tmp_path / "a.csv"
    csv_file.write_text("text\nfine\n")
    with pytest.raises(SystemExit):
        main([str(csv_file), GOOD])  # a file among texts is never scored as a text
    assert "is a file, not a review" in capsys.readouterr().err


def test_help_shows_the_common_forms_first():
    result = run_cli("--help")
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert (
        lines[0]
        == "usage: sentiment-score REVIEWS.csv [-o SCORED.csv] [--format csv|jsonl] [--text-column NAME]"
    )
    assert "sentiment-score - < reviews.txt" in lines[2]


def test_file_argument_with_dash_o(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(f"id,review\n1,{GOOD}\n2,{BAD}\n3,\n")
    result = run_cli(str(source), "-o", str(tmp_path / "out.csv"), "--no-progress")
    assert result.returncode == 0, result.stderr.decode()
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [(r["id"], r["label"], r["error"]) for r in rows] == [
        ("1", "positive", ""),
        ("2", "negative", ""),
        ("3", "", "empty text"),
    ]
    assert json.loads((tmp_path / "out.summary.json").read_text())["rows"] == 3


def test_gzipped_csv_and_jsonl_output(tmp_path, capsys):
    source = tmp_path / "reviews.csv.gz"
    source.write_bytes(gzip.compress(f"review;stars\n{GOOD};5\n{BAD};1\n;;x\n".encode()))
    assert main([str(source), "--format", "jsonl", "--no-progress"]) == 0
    out = tmp_path / "reviews.scored.jsonl"
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["review"][:6], r["label"], r["error"]) for r in records] == [
        (GOOD[:6], "positive", None),
        (BAD[:6], "negative", None),
        ("", None, "row has 3 fields, the header has 2: the last 2 are joined into the last column"),
    ]
    assert isinstance(records[0]["score"], float) and records[2]["stars"] == ";x"
    assert json.loads(capsys.readouterr().out)["output"] == str(out)
    assert json.loads((tmp_path / "reviews.scored.summary.json").read_text())["scored"] == 2

    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(source.read_bytes()[:-12])
    assert main([str(broken), "-o", str(tmp_path / "b.csv"), "--no-progress"]) == 1
    assert "not a complete gzip file" in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()


def test_texts_as_csv_to_a_file(tmp_path, capsys):
    out = tmp_path / "texts.csv"
    assert main([GOOD, "--text", "   ", "-o", str(out), "--format", "csv"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["text"], r["label"], r["error"]) for r in rows] == [
        ("   ", "", "empty row"),
        (GOOD, "positive", ""),
    ]
    assert capsys.readouterr().out == ""


def test_python_m_reads_stdin_and_needs_no_aws(tmp_path):
    # No credentials, no region and an endpoint that does not answer: nothing may reach for AWS.
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    reviews = tmp_path / "reviews.txt"
    reviews.write_text(f"{GOOD}\n{BAD}\n")
    with reviews.open("rb") as stdin:  # sentiment-score - < reviews.txt
        result = subprocess.run(
            [sys.executable, "-m", "sentiment_cli", "-"],
            cwd=REPO,
            stdin=stdin,
            capture_output=True,
            timeout=120,
            env={**os.environ, **env},
        )
    assert result.returncode == 0, result.stderr.decode()
    assert [json.loads(line)["label"] for line in result.stdout.decode().splitlines()] == [
        "positive",
        "negative",
    ]
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, sentiment_cli.cli; print('boto3' in sys.modules)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "False"


def test_python_m_csv_with_progress_bar_and_summary(tmp_path):
    source = tmp_path / "reviews.csv"
    source.write_text("text\n" + "".join(f"{GOOD if i % 2 else BAD}\n" for i in range(600)))
    result = run_cli("--csv", str(source), "--out", str(tmp_path / "out.csv"), "--progress")
    assert result.returncode == 0, result.stderr.decode()
    stderr = result.stderr.decode()
    assert "100%" in stderr and "rows=600" in stderr  # the bar, with rows as they are scored
    assert "600 rows: 600 scored (300 positive, 300 negative), 0 with errors" in stderr
    assert json.loads(result.stdout)["rows"] == 600
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 601


def test_csv_from_stdin_to_stdout():
    result = run_cli("--csv", "-", "--no-progress", stdin=f"text\n{GOOD}\n\n{BAD}\n".encode())
    assert result.returncode == 0, result.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    assert [(r["label"], r["error"]) for r in rows] == [("positive", ""), ("", "empty row"), ("negative", "")]


def test_the_project_installs_the_command():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["sentiment-score"] == "sentiment_cli.cli:main"
    command = Path(sys.executable).parent / "sentiment-score"
    if not command.exists():
        pytest.skip("the project is not installed in this environment (make venv installs it)")
    result = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "REVIEWS.csv" in result.stdout


def test_report_and_group_column(tmp_path, capsys):
    source = tmp_path / "movies.csv"
    rows = [f"{i},Film <{i % 2}>,{GOOD if i % 3 else BAD}" for i in range(12)]
    source.write_text("id,film,review\n" + "\n".join(rows) + "\n3,Film <1>,too,many\n")
    out, report = tmp_path / "out.csv", tmp_path / "out.html"
    assert main([str(source), "-o", str(out), "--report", str(report), "--group-column", "film"]) == 0
    figures = json.loads((tmp_path / "out.summary.json").read_text())["figures"]
    assert (figures["rows"], figures["scored"], figures["cost_usd"]) == (13, 12, None)
    assert figures["positive"]["positives"] == 8 and figures["group"]["source"] == "named"
    assert {g["value"]: g["rows"] for g in figures["group"]["groups"]} == {"Film <0>": 6, "Film <1>": 7}
    page = report.read_text()
    assert page.startswith("<!doctype html>") and "Film &lt;1&gt;" in page and "<script" not in page
    assert "no AWS cost (scored locally)" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--report", "r.html", GOOD], "--report"), (["in.csv", "--report", "no/such/dir/r.html"], "no such")],
)
def test_report_usage_errors(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text(f"text\n{GOOD}\n")
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
