"""A scored file's figures (for summary.json) and its report: one self-contained HTML page.

The page is inline CSS and inline SVG drawn here, under its own Content-Security-Policy that
allows nothing from elsewhere and no script, so it opens offline, from a presigned link, or
inside another page. Every text taken from the file is HTML-escaped. Only the functions that
write reports import this module.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape

from sentiment_core.file_summary import BINS, DETECTED_GROUPS, MICRO, UNCERTAIN, FileAggregate

Z_95 = 1.959964
MIN_ROWS_PER_GROUP = 3  # a detected grouping column repeats its values: at least 3 rows a value on average
SHOWN_GROUPS = 30
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def wilson(k: int, n: int, z: float = Z_95) -> list[float] | None:
    """The Wilson score interval of a proportion k/n: sound for small n and for shares near 0 or 1."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)]


def _share(positives: int, scored: int) -> dict:
    return {
        "positives": positives,
        "scored": scored,
        "share": round(positives / scored, 6) if scored else None,
        "interval_95": wilson(positives, scored),
    }


def _group(aggregate: FileAggregate, date_index: int | None) -> dict | None:
    named = aggregate.named_index()
    if aggregate.group_column:
        if named is None:
            return {
                "column": aggregate.group_column,
                "source": "named",
                "groups": [],
                "note": "not in the header",
            }
        index, source = named, "named"
    else:
        index, source = None, "detected"
        for i, column in sorted(aggregate.columns.items()):
            filled = {v: counts[0] for v, counts in (column.values or {}).items() if v.strip()}
            few = 2 <= len(filled) <= DETECTED_GROUPS and aggregate.rows >= MIN_ROWS_PER_GROUP * len(filled)
            if i != date_index and few and 2 * sum(filled.values()) >= aggregate.rows:  # mostly filled in
                index = i
                break
        if index is None:
            return None
    values = aggregate.columns[index].values
    result = {"column": aggregate.header[index], "source": source, "groups": []}
    if values is None:
        result["note"] = "too many distinct values (or values too long) to group by"
        return result
    groups = [
        {"value": value, "rows": rows, **_share(positives, scored)}
        for value, (rows, scored, positives) in values.items()
    ]
    result["groups"] = sorted(groups, key=lambda g: (-g["rows"], g["value"]))
    return result


def _week(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return (date - dt.timedelta(days=date.weekday())).isoformat()


def _timeline(aggregate: FileAggregate) -> tuple[int | None, dict | None]:
    for index, column in sorted(aggregate.columns.items()):
        periods = column.periods
        if not periods or len(periods) < 2 or column.dated * 2 < aggregate.rows:
            continue
        keys = sorted(periods)
        bucket, label = column.level, (lambda key: key)
        if column.level == "day":
            span = (dt.date.fromisoformat(keys[-1]) - dt.date.fromisoformat(keys[0])).days
            if span > 731:
                bucket, label = "month", (lambda key: key[:7])
            elif span > 62:
                bucket, label = "week", _week
        elif column.level == "month" and len(keys) > 120:
            bucket, label = "year", (lambda key: key[:4])
        merged: dict[str, list[int]] = {}
        for key in keys:
            counts = merged.setdefault(label(key), [0, 0, 0])
            for i, n in enumerate(periods[key]):
                counts[i] += n
        points = [
            {"period": key, "rows": rows, **_share(positives, scored)}
            for key, (rows, scored, positives) in sorted(merged.items())
        ]
        return index, {"column": aggregate.header[index], "bucket": bucket, "points": points}
    return None, None


def figures(aggregate: FileAggregate, model: dict, seconds: float, cost_usd: float | None) -> dict:
    """The numbers the report shows, as summary.json's `figures`."""
    date_index, timeline = _timeline(aggregate)
    scored = aggregate.scored
    return {
        "text_column": aggregate.header[aggregate.text_column].strip(),
        "rows": aggregate.rows,
        "scored": scored,
        "rows_with_errors": aggregate.rows - scored,
        "errors": dict(sorted(aggregate.errors.items(), key=lambda e: -e[1])),
        "positive": _share(aggregate.positives, scored),
        "mean_probability_positive": round(aggregate.micro_sum / MICRO / scored, 6) if scored else None,
        "histogram": {"bins": BINS, "counts": aggregate.histogram},
        "uncertain": {
            "range": list(UNCERTAIN),
            "count": aggregate.uncertain,
            "share": round(aggregate.uncertain / scored, 6) if scored else None,
        },
        "most_positive": aggregate.top("positive"),
        "most_negative": aggregate.top("negative"),
        "group": _group(aggregate, date_index),
        "timeline": timeline,
        "model": model,
        "seconds": seconds,
        "cost_usd": cost_usd,
    }


# ---- the page --------------------------------------------------------------------------------

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;margin:0;
background:#f5f7fa}
main{max-width:1080px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0 0 10px}
.meta{color:#52606d;margin:0 0 20px}
section{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:18px 20px;margin:0 0 18px}
.cards{display:flex;flex-wrap:wrap;gap:12px;background:none;border:0;padding:0}
.card{flex:1 1 150px;background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 14px}
.card b{display:block;font-size:26px;line-height:1.2}.card span{color:#52606d;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{color:#52606d;font-weight:600}td.n,th.n{text-align:right;white-space:nowrap}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:18px}
@media (max-width:800px){.cols{grid-template-columns:1fr}}
.note{color:#52606d;font-size:13px;margin:8px 0 0}
svg{display:block;max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#52606d}
.pos{color:#1f7a4d}.neg{color:#b42318}
.key{margin:4px 0 0;padding-left:8px;border-left:3px solid #e4e7eb;color:#323f4b;font-size:13px}
"""

POS, NEG, MUTED, BAND = "#2f9e6b", "#d64545", "#9aa5b1", "#fff4d6"


def _pct(share: float | None, digits: int = 1) -> str:
    return "n/a" if share is None else f"{100 * share:.{digits}f}%"


def _interval(share: dict) -> str:
    if share["interval_95"] is None:
        return ""
    lo, hi = share["interval_95"]
    return f"{_pct(lo)}\u2013{_pct(hi)}"


def _histogram(counts: list[int], uncertain: dict) -> str:
    width, height, left, bottom, top = 960, 270, 50, 46, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(counts) or 1
    step = plot_w / len(counts)
    lo, hi = uncertain["range"]
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="hist-title">',
        '<title id="hist-title">Histogram of the positive probability</title>',
        f'<rect x="{left + lo * plot_w:.1f}" y="{top}" width="{(hi - lo) * plot_w:.1f}" height="{plot_h}" '
        f'fill="{BAND}"/>',
    ]
    for i, n in enumerate(counts):
        h = plot_h * n / peak
        colour = POS if (i + 0.5) / len(counts) >= 0.5 else NEG
        lo_bin, hi_bin = i / len(counts), (i + 1) / len(counts)
        parts.append(
            f'<rect x="{left + i * step + 1:.1f}" y="{top + plot_h - h:.1f}" width="{step - 2:.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{lo_bin:.2f}\u2013{hi_bin:.2f}: {n} rows</title></rect>'
        )
        if n:  # the count above its bar: small bins stay readable beside tall ones
            parts.append(
                f'<text x="{left + (i + 0.5) * step:.1f}" y="{top + plot_h - h - 3:.1f}" '
                f'text-anchor="middle" font-size="10">{n:,}</text>'
            )
    for tick in range(0, 11, 2):
        x = left + tick / 10 * plot_w
        parts.append(f'<text x="{x:.1f}" y="{height - 26}" text-anchor="middle">{tick / 10:.1f}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
        "probability that the review is positive</text>"
    )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="{MUTED}"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _group_bars(groups: list[dict]) -> str:
    rows = [g for g in groups if g["share"] is not None][:SHOWN_GROUPS]
    if not rows:
        return ""
    label_w, width, bar_h, gap = 220, 960, 18, 8
    plot_w = width - label_w - 70
    height = len(rows) * (bar_h + gap) + 30
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="groups-title">',
        '<title id="groups-title">Share of positive reviews by group, with 95% intervals</title>',
    ]
    for i, g in enumerate(rows):
        y = i * (bar_h + gap) + 4
        name = g["value"] if g["value"].strip() else "(blank)"
        short = name if len(name) <= 30 else name[:29] + "\u2026"
        lo, hi = g["interval_95"]
        parts += [
            f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">{escape(short)}</text>',
            f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="#f0f2f5"/>',
            f'<rect x="{label_w}" y="{y}" width="{plot_w * g["share"]:.1f}" height="{bar_h}" fill="{POS}">'
            f"<title>{escape(name)}: {_pct(g['share'])} positive of {g['scored']}</title></rect>",
            f'<line x1="{label_w + plot_w * lo:.1f}" x2="{label_w + plot_w * hi:.1f}" y1="{y + bar_h / 2}" '
            f'y2="{y + bar_h / 2}" stroke="#1f2933" stroke-width="2"/>',
            f'<text x="{label_w + plot_w + 8}" y="{y + 13}">{_pct(g["share"], 0)}</text>',
        ]
    axis_y = len(rows) * (bar_h + gap) + 16
    for tick in (0, 0.5, 1):
        parts.append(
            f'<text x="{label_w + plot_w * tick:.1f}" y="{axis_y}" text-anchor="middle">'
            f"{int(tick * 100)}%</text>"
        )
    parts.append(
        f'<line x1="{label_w + plot_w / 2}" y1="0" x2="{label_w + plot_w / 2}" y2="{axis_y - 12}" '
        f'stroke="{MUTED}" stroke-dasharray="3 3"/></svg>'
    )
    return "".join(parts)


def _timeline_chart(points: list[dict]) -> str:
    points = [p for p in points if p["share"] is not None]
    if len(points) < 2:
        return ""
    width, height, left, bottom, top = 960, 260, 50, 40, 12
    plot_w, plot_h = width - left - 45, height - bottom - top  # room for the last date's label
    step = plot_w / (len(points) - 1)
    peak = max(p["rows"] for p in points)

    def y(share: float) -> float:
        return top + plot_h * (1 - share)

    band = [f"{left + i * step:.1f},{y(p['interval_95'][1]):.1f}" for i, p in enumerate(points)]
    band += [
        f"{left + i * step:.1f},{y(p['interval_95'][0]):.1f}" for i, p in reversed(list(enumerate(points)))
    ]
    line = " ".join(f"{left + i * step:.1f},{y(p['share']):.1f}" for i, p in enumerate(points))
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="time-title">',
        '<title id="time-title">Share of positive reviews over time, with 95% intervals</title>',
    ]
    bar_w = max(1.0, min(24.0, step * 0.6))
    for i, p in enumerate(points):  # row counts, faint, behind the line
        h = plot_h * 0.35 * p["rows"] / peak
        parts.append(
            f'<rect x="{left + i * step - bar_w / 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="#e4e7eb"><title>{escape(p["period"])}: {p["rows"]} rows, '
            f"{_pct(p['share'])} positive</title></rect>"
        )
    parts += [
        f'<polygon points="{" ".join(band)}" fill="{POS}" fill-opacity="0.15"/>',
        f'<polyline points="{line}" fill="none" stroke="{POS}" stroke-width="2"/>',
        f'<line x1="{left}" y1="{y(0.5):.1f}" x2="{left + plot_w}" y2="{y(0.5):.1f}" stroke="{MUTED}" '
        'stroke-dasharray="3 3"/>',
    ]
    for share in (0, 0.5, 1):
        parts.append(
            f'<text x="{left - 6}" y="{y(share) + 4:.1f}" text-anchor="end">{int(share * 100)}%</text>'
        )
    every = max(1, math.ceil(len(points) / 8))
    for i in range(0, len(points), every):
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{height - 14}" text-anchor="middle">'
            f"{escape(points[i]['period'])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _key_sentence(item: dict) -> str:
    """An explained review's key sentence, under its excerpt."""
    key = item.get("key_sentence")
    if key is None:
        return ""
    css = "pos" if key["contribution"] > 0 else "neg"
    return (
        # Two significant digits: a sure review's sentences move P(positive) by thousandths or less.
        f"<p class=key>Key sentence <span class={css}>({key['contribution']:+.2g})</span>: "
        f"{escape(key['text'])}</p>"
    )


def _top_table(title: str, items: list[dict], css: str) -> str:
    if not items:
        return f"<div><h2>{title}</h2><p class=note>No scored rows.</p></div>"
    body = "".join(
        f'<tr><td class=n>{item["row"]}</td><td class="n {css}">{item["probability"]:.3f}</td>'
        f"<td>{escape(item['excerpt'])}{_key_sentence(item)}</td></tr>"
        for item in items
    )
    return (
        f"<div><h2>{title}</h2><table><thead><tr><th class=n>Row</th><th class=n>P(pos.)</th>"
        f"<th>Review</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def _group_section(group: dict | None) -> str:
    if group is None:
        return ""
    how = "named by the uploader" if group["source"] == "named" else "found in the file (few distinct values)"
    head = f"<h2>By {escape(group['column'])}</h2><p class=note>Grouping column {how}.</p>"
    if "note" in group:
        return f"<section>{head}<p>Not grouped: the column is {escape(group['note'])}.</p></section>"
    rows = "".join(
        f"<tr><td>{escape(g['value']) if g['value'].strip() else '(blank)'}</td><td class=n>{g['rows']}</td>"
        f"<td class=n>{g['scored']}</td><td class=n>{_pct(g['share'])}</td>"
        f"<td class=n>{_interval(g)}</td></tr>"
        for g in group["groups"][:SHOWN_GROUPS]
    )
    more = len(group["groups"]) - SHOWN_GROUPS
    tail = f"<p class=note>{more} smaller groups are in summary.json.</p>" if more > 0 else ""
    return (
        f"<section>{head}{_group_bars(group['groups'])}<table><thead><tr><th>{escape(group['column'])}</th>"
        "<th class=n>Rows</th><th class=n>Scored</th><th class=n>Positive</th><th class=n>95% interval</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>{tail}</section>"
    )


def _timeline_section(timeline: dict | None) -> str:
    if timeline is None:
        return ""
    return (
        f"<section><h2>Over time, by {escape(timeline['bucket'])} of {escape(timeline['column'])}</h2>"
        f"{_timeline_chart(timeline['points'])}<p class=note>The line is the share of positive reviews "
        "(shaded: its 95% interval); grey bars are the number of rows.</p></section>"
    )


def _errors_section(figures: dict) -> str:
    if not figures["errors"]:
        return ""
    rows = "".join(
        f"<tr><td>{escape(reason)}</td><td class=n>{n}</td></tr>" for reason, n in figures["errors"].items()
    )
    return (
        "<section><h2>Rows not scored</h2><table><thead><tr><th>Why</th><th class=n>Rows</th></tr></thead>"
        f"<tbody>{rows}</tbody></table><p class=note>Each such row is in the scored CSV with its error."
        "</p></section>"
    )


def _cost(cost: float | None) -> str:
    if cost is None:
        return "no AWS cost (scored locally)"
    return f"about ${cost:.4f}" if cost < 1 else f"about ${cost:,.2f}"


def render(figures: dict, name: str) -> str:
    """The report page for one scored file."""
    positive, uncertain, model = figures["positive"], figures["uncertain"], figures["model"]
    cards = [
        (f"{figures['rows']:,}", "rows"),
        (f"{figures['scored']:,}", "scored"),
        (f"{figures['rows_with_errors']:,}", "rows with errors"),
        (_pct(positive["share"]), f"positive (95% interval {_interval(positive) or 'n/a'})"),
        (_pct(uncertain["share"]), "uncertain (P between 0.4 and 0.6)"),
    ]
    card_html = "".join(
        f"<div class=card><b>{value}</b><span>{escape(label)}</span></div>" for value, label in cards
    )
    model_name = escape(f"{model.get('name', '')} {model.get('version', '')}".strip())
    hist = ""
    if figures["scored"]:
        hist = (
            "<section><h2>How sure the model was</h2>"
            f"{_histogram(figures['histogram']['counts'], uncertain)}<p class=note>Rows by the model's "
            "probability that the review is positive (P), in steps of 0.05; the shaded band is the uncertain "
            f"range 0.4\u20130.6, which holds {uncertain['count']:,} rows.</p></section>"
        )
    explained = any("key_sentence" in item for item in figures["most_positive"] + figures["most_negative"])
    key_note = (
        " A key sentence is the one that moved a review most toward its label; its contribution is "
        "P(positive) of the review minus P(positive) without it."
        if explained
        else ""
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>Sentiment report: {escape(name)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>Sentiment report: {escape(name)}</h1>"
        f"<p class=meta>Text column {escape(figures['text_column'])} \u00b7 model {model_name} \u00b7 "
        f"scored in {figures['seconds']:.1f} s \u00b7 "
        f"{_cost(figures['cost_usd'])}</p>"
        f"<section class=cards>{card_html}</section>{hist}"
        f"{_group_section(figures['group'])}{_timeline_section(figures['timeline'])}"
        "<section class=cols>"
        f"{_top_table('Most positive', figures['most_positive'], 'pos')}"
        f"{_top_table('Most negative', figures['most_negative'], 'neg')}</section>"
        f"{_errors_section(figures)}"
        "<p class=note>Row numbers count the rows under the header, from 1. Intervals are Wilson score "
        f"intervals. The scored CSV has every row with its label, score and error.{key_note}</p>"
        "</main></body></html>"
    )
