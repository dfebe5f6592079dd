"""The CSV reader/writer: real-world CSVs in, one output row per input row out, or a clear file error."""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from sentiment_core.csv_scoring import NotScorable, score_csv
from tests.fakes import FakeModel

GOOD = "A wonderful film, I loved every minute."
BAD = "Dreadful. Boring and far too long."


def score(data: bytes, text_column: str | None = None):
    out = io.BytesIO()
    summary = score_csv(io.BytesIO(data), out, FakeModel(), text_column)
    return summary, out.getvalue()


def rows_of(output: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(output.decode("utf-8-sig"), newline=""), delimiter=delimiter))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_dialects_bom_and_line_endings(delimiter, bom, newline):
    d = delimiter
    text = newline.join(
        [f"id{d}review{d}stars", f'1{d}"{GOOD}, really{newline}really"{d}9', f"2{d}{BAD}{d}2", ""]
    )
    summary, output = score(bom + text.encode())
    assert summary.delimiter == delimiter and summary.rows == 2 and summary.text_column == "review"
    rows = rows_of(output, delimiter)
    assert rows[0] == ["id", "review", "stars", "label", "score", "error"]
    assert [r[0] for r in rows[1:]] == ["1", "2"]
    assert rows[1][1] == f"{GOOD}, really{newline}really"  # quoted delimiter and newline kept intact
    assert [r[3] for r in rows[1:]] == ["positive", "negative"]
    assert output.startswith(b"\xef\xbb\xbf") == bool(bom)


def test_empty_rows_empty_texts_and_ragged_rows_are_kept_with_errors():
    data = f'id,text,note\n1,"{GOOD}",a\n\n2,,b\n3,   ,c\n4,{BAD}\n5,{BAD},c,extra\n6,"{GOOD}",d\n'.encode()
    summary, output = score(data)
    rows = rows_of(output)[1:]
    assert [r[0] for r in rows] == ["1", "", "2", "3", "4", "5", "6"]
    assert [r[5] for r in rows] == [
        "",
        "empty row",
        "empty text",
        "empty text",
        "row has 2 fields, the header has 3: padded with 1 empty field",
        "row has 4 fields, the header has 3: the last 2 are joined into the last column",
        "",
    ]
    assert all(len(r) == 6 for r in rows)  # rectangular: the header's fields plus label, score, error
    assert rows[4][:3] == ["4", BAD, ""] and rows[5][:3] == ["5", BAD, "c,extra"]  # nothing lost
    assert (summary.rows, summary.scored, summary.rows_with_errors) == (7, 2, 5)
    assert summary.positives == 2 and summary.negatives == 0


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_in_a_one_column_file_the_whole_line_is_the_text(delimiter):
    lines = ["text", f"What a wonderful{delimiter} heartfelt film.", "Dreadful and boring.", '"quoted, kept"']
    summary, output = score("\n".join(lines).encode() + b"\n")
    rows = rows_of(output, summary.delimiter)
    assert rows[0] == ["text", "label", "score", "error"] and all(len(r) == 4 for r in rows)
    assert rows[1][0] == f"What a wonderful{delimiter} heartfelt film." and rows[1][3] == ""
    assert [r[1] for r in rows[1:]] == ["positive", "negative", "positive"]
    assert rows[3][0] == "quoted, kept" and summary.rows_with_errors == 0


def test_a_long_row_with_many_surplus_fields_keeps_them_all_in_order():
    _, output = score(f"id,text\n1,{GOOD},b,c,,d\n".encode())  # GOOD has a comma too
    (row,) = rows_of(output)[1:]
    assert row == [
        "1",
        f"{GOOD},b,c,,d",
        "",
        "",
        "row has 7 fields, the header has 2: the last 6 are joined into the last column",
    ]


def test_invalid_utf8_in_a_row_is_a_row_error():
    data = b'id,text\n1,"' + GOOD.encode() + b'"\n2,caf\xe9 latin-1 text\n'
    summary, output = score(data)
    assert rows_of(output)[2][4] == "text is not valid UTF-8"
    assert summary.rows == 2 and summary.rows_with_errors == 1


def test_text_column_by_name_and_case():
    summary, output = score(f'ID,Comment,Text\n1,{BAD},"{GOOD}"\n'.encode(), text_column="comment")
    assert summary.text_column == "Comment" and rows_of(output)[1][3] == "negative"
    summary, _ = score(f'ID,TEXT\n1,"{GOOD}"\n'.encode())
    assert summary.text_column == "TEXT"


def test_a_file_with_its_own_label_column_gets_the_service_columns_prefixed():
    # The IMDB files carry their own `label` (0/1): two columns of one name would make a DictReader or a
    # spreadsheet lookup read the wrong one.
    _, output = score(f'id,Label,text\n1,0,"{BAD}"\n'.encode())
    header, row = rows_of(output)
    assert header == ["id", "Label", "text", "sentiment_label", "sentiment_score", "sentiment_error"]
    assert row[:3] == ["1", "0", BAD] and row[3] == "negative"
    _, output = score(f'id,text\n1,"{GOOD}"\n'.encode())
    assert rows_of(output)[0] == ["id", "text", "label", "score", "error"]


def test_header_only_file_gives_an_empty_scored_file():
    summary, output = score(b"id,text\n")
    assert summary.rows == 0 and rows_of(output) == [["id", "text", "label", "score", "error"]]


def test_a_100kb_cell_is_scored_truncated():
    summary, output = score(f'id,text\n1,"{GOOD} {"blah " * 20_000}"\n'.encode())
    assert summary.scored == 1 and rows_of(output)[1][2] in ("positive", "negative")


@pytest.mark.parametrize(
    "data,problem",
    [
        (b"", r"empty \(0 bytes\)"),
        (gzip.compress(b"id,text\n1,good\n"), "gzip-compressed"),
        (b"PK\x03\x04rest-of-a-zip", "zip archive"),
        (bytes(range(256)) * 10, "binary"),
        (b"id,t\xe9xt\n1,good\n", "header row is not UTF-8"),
        (b"id,comment\n1,good\n", "no text column"),
    ],
)
def test_files_that_cannot_be_scored(data, problem):
    with pytest.raises(NotScorable, match=problem):
        score(data)


def test_requested_column_missing():
    with pytest.raises(NotScorable, match="requested text column 'body'"):
        score(b"id,text\n1,good\n", text_column="body")


def test_quotes_doubled_only_after_the_sniffed_sample_still_parse():
    # The sniffer sees no doubled quote in its sample and guesses that `""` is not an escape;
    # the reader must still follow RFC 4180, or every later row with one splits at its commas.
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "text"])
    writer.writerows(
        [i, f"Review {i}, plain: good, fun, long enough to fill the sample. " * 20] for i in range(200)
    )
    writer.writerows([i, 'He said "awful", then "dull", and left.'] for i in range(200, 210))
    summary, output = score(buffer.getvalue().encode())
    rows = rows_of(output)
    assert len(rows) == 211 and summary.rows_with_errors == 0
    assert rows[-1][1] == 'He said "awful", then "dull", and left.'
