"""`python -m model_compare` end to end on two model directories: the served artifact and a copy of it
under another version, on a small labelled file."""

from __future__ import annotations

import json
import shutil

from model_compare.__main__ import main
from sentiment_core import settings

REVIEWS = [
    ("positive", "A wonderful film, moving and funny, with a superb cast."),
    ("negative", "Dull, badly acted and far too long. I want my evening back."),
    ("positive", "One of the best movies I have seen this year."),
    ("negative", "The plot makes no sense and the dialogue is painful."),
    ("positive", "Charming and beautifully shot; I loved every minute."),
    ("negative", "A boring mess."),
]


def test_a_model_against_a_copy_of_itself_agrees_everywhere(tmp_path, capsys):
    candidate = tmp_path / "candidate"
    shutil.copytree(settings.current().model_dir, candidate, ignore=shutil.ignore_patterns("registry.json"))
    manifest = json.loads((candidate / "manifest.json").read_text())
    manifest["version"] = "9.9.9-copy"  # the manifest's checksums cover the files, not itself
    (candidate / "manifest.json").write_text(json.dumps(manifest))
    data = tmp_path / "reviews.csv"
    data.write_text("label,text\n" + "".join(f'{label},"{text}"\n' for label, text in REVIEWS))

    out = tmp_path / "out"
    assert main([str(settings.current().model_dir), str(candidate), str(data), "--out", str(out)]) == 0

    (report,) = out.glob("*-vs-9.9.9-copy.json")
    assert report.with_suffix(".html").is_file()
    result = json.loads(report.read_text())
    assert result["rows"] == len(REVIEWS) and result["labelled"]
    assert result["a"]["accuracy"] == result["b"]["accuracy"] == 1.0
    assert result["agreement"] == 1.0 and result["max_abs_delta_p_positive"] == 0.0
    assert result["mcnemar"] == {"only_a_right": 0, "only_b_right": 0, "p_value": 1.0}
    assert result["a"]["latency_rows"] == result["b"]["latency_rows"] == len(REVIEWS)
    assert result["b"]["version"] == "9.9.9-copy" and len(result["largest_disagreements"]) == len(REVIEWS)
    page = report.with_suffix(".html").read_text()
    assert "default-src 'none'" in page and "<script" not in page and "<svg" in page
    printed = capsys.readouterr().out
    assert "McNemar exact" in printed and "9.9.9-copy" in printed


def test_an_unknown_side_or_file_is_a_clear_error(tmp_path, capsys):
    model = str(settings.current().model_dir)
    assert main([model, str(tmp_path / "nothing-here"), str(tmp_path / "x.csv")]) == 1
    assert "no such model directory" in capsys.readouterr().err
    assert main([model, model, str(tmp_path / "missing.csv")]) == 1
    assert "no such file" in capsys.readouterr().err
