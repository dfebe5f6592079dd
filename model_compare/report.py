"""The comparison as a short table (terminal) and a self-contained HTML page (inline CSS and SVG, no
script, a Content-Security-Policy that loads nothing from anywhere)."""

from __future__ import annotations

from html import escape

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
WORSE_BY_CHANCE = 0.05  # McNemar p below this: the accuracy difference is unlikely to be noise


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _ci(pair: list[float]) -> str:
    return f"{100 * pair[0]:.2f} to {100 * pair[1]:.2f}%"


def rows(result: dict) -> list[tuple[str, str, str]]:
    """(figure, A, B) lines; a figure of the pair has its value under A and B empty."""
    a, b = result["a"], result["b"]
    lines = [
        ("model", f"{a['name']} {a['version']}", f"{b['name']} {b['version']}"),
        ("given as", a["given"], b["given"]),
    ]
    if result["labelled"]:
        lines += [
            ("accuracy", _pct(a["accuracy"]), _pct(b["accuracy"])),
            ("  95% interval (Wilson)", _ci(a["accuracy_ci95"]), _ci(b["accuracy_ci95"])),
            ("calibration error (ECE, 10 bins)", f"{a['ece']:.4f}", f"{b['ece']:.4f}"),
        ]
    lines += [
        ("predicted positive", _pct(a["positive_share"]), _pct(b["positive_share"])),
        (
            f"p50 latency, 1 thread ({a['latency_rows']} rows)",
            f"{a['p50_latency_ms']:.1f} ms",
            f"{b['p50_latency_ms']:.1f} ms",
        ),
        ("label agreement", f"{_pct(result['agreement'])} ({_ci(result['agreement_ci95'])})", ""),
        (
            "flips negative→positive / positive→negative",
            f"{result['flips_to_positive']} / {result['flips_to_negative']}",
            "",
        ),
        (
            "|ΔP(positive)| mean / largest",
            f"{result['mean_abs_delta_p_positive']:.4f} / {result['max_abs_delta_p_positive']:.4f}",
            "",
        ),
    ]
    if "mcnemar" in result:
        m = result["mcnemar"]
        lines.append(
            (
                "McNemar exact (only A right / only B right)",
                f"{m['only_a_right']} / {m['only_b_right']}",
                f"p = {m['p_value']:.4g}",
            )
        )
    return lines


def verdict(result: dict) -> str:
    if "mcnemar" not in result:
        return "No labels: agreement only."
    m, a, b = result["mcnemar"], result["a"], result["b"]
    if m["p_value"] >= WORSE_BY_CHANCE:
        return (
            f"The accuracy difference (B - A: {100 * (b['accuracy'] - a['accuracy']):+.2f} points) is within "
            "what chance "
            f"gives on {result['rows']} rows (McNemar p = {m['p_value']:.3g})."
        )
    better = "B" if m["only_b_right"] > m["only_a_right"] else "A"
    return f"{better} is more accurate, beyond chance (McNemar p = {m['p_value']:.3g})."


def table(result: dict) -> str:
    lines = [("", "A", "B"), *rows(result)]
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    return "\n".join([f"{result['rows']} rows of {result['data']}", *text, verdict(result)])


def _reliability_svg(result: dict) -> str:
    """The reliability diagram: each bin's mean predicted P(positive) against its observed positive
    rate, A and B; the diagonal is perfect calibration."""
    size, pad = 320, 36
    span = size - 2 * pad

    def xy(x: float, y: float) -> str:
        return f"{pad + x * span:.1f},{size - pad - y * span:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
        'aria-label="reliability diagram">',
        f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" stroke="#999"/>',
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" '
        'stroke="#bbb" stroke-dasharray="4"/>',
        f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle">mean predicted P(positive)</text>',
        f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" text-anchor="middle">'
        "observed positive rate</text>",
    ]
    for side, colour in (("a", "#1f77b4"), ("b", "#d62728")):
        points = [
            (b["mean_confidence"], b["positive_rate"]) for b in result[side]["reliability"] if b["count"]
        ]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(xy(*p) for p in points)}"/>'
        )
        parts += [
            f'<circle cx="{xy(*p).split(",")[0]}" cy="{xy(*p).split(",")[1]}" r="3" fill="{colour}"/>'
            for p in points
        ]
    parts.append("</svg>")
    return "".join(parts)


def html(result: dict) -> str:
    a, b = result["a"], result["b"]
    title = f"{a['version']} vs {b['version']}"
    figures = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(x)}</td><td>{escape(y)}</td></tr>"
        for name, x, y in rows(result)
    )
    disagreements = "".join(
        "<tr>"
        f"<td>{d['line']}</td><td>{escape(d['label'] or '-')}</td>"
        f"<td>{d['a_p_positive']:.3f}</td><td>{d['b_p_positive']:.3f}</td><td>{d['delta']:+.3f}</td>"
        f"<td class=text>{escape(d['text'])}</td></tr>"
        for d in result["largest_disagreements"]
    )
    calibration = ""
    if result["labelled"]:
        calibration = (
            "<h2>Calibration</h2><p>Reliability bins of P(positive): "
            '<span style="color:#1f77b4">A</span>, <span style="color:#d62728">B</span>.</p>'
            + _reliability_svg(result)
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Model comparison: {escape(title)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }}
td.text {{ font-size: 12px; color: #444; max-width: 36em; }}
svg text {{ font-size: 11px; fill: #444; }}
</style></head><body>
<h1>Model comparison: {escape(title)}</h1>
<p>{result["rows"]} rows of {escape(result["data"])} ({result["rows_in_file"]} with a text in the file).
A: {escape(a["model_dir"])} (sha256 {escape(a["sha256"][:12])}…);
B: {escape(b["model_dir"])} (sha256 {escape(b["sha256"][:12])}…).</p>
<p><strong>{escape(verdict(result))}</strong></p>
<table><tr><th></th><th>A</th><th>B</th></tr>{figures}</table>
{calibration}
<h2>The {len(result["largest_disagreements"])} rows where they disagree most</h2>
<table><tr><th>line</th><th>label</th><th>A P(pos)</th><th>B P(pos)</th><th>Δ</th><th>text</th></tr>
{disagreements}</table>
</body></html>
"""
