"""The claims table (:func:`cliptail.evaluate.claims.claims`) as Markdown and as a
self-contained HTML page: a summary line counting each verdict, then one row per claim."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cliptail.evaluate.verdicts import VERDICTS, is_missing


def _cell(text: Any) -> str:
    return "" if is_missing(text) else str(text).replace("|", "\\|").replace("\n", " ")


def _counts(df: pd.DataFrame) -> dict[str, int]:
    verdicts = df["verdict"] if "verdict" in df else _verdicts_from_holds(df["holds"])
    return {v: int((verdicts == v).sum()) for v in VERDICTS}


def _verdicts_from_holds(holds: pd.Series) -> pd.Series:
    """Verdicts of a claims table without a ``verdict`` column (NA = not tested)."""
    return holds.map(lambda h: "not tested" if pd.isna(h) else ("holds" if h else "does not hold"))


INTERVAL_NOTE = (
    "Intervals: bootstrap 95 % over classes (and over seeds where a group has more than one); "
    "a claim holds when its interval excludes the opposite direction."
)


def _summary(df: pd.DataFrame) -> tuple[str, str]:
    """The summary line (bold part, rest): counts of each verdict."""
    n = _counts(df)
    testable = len(df) - n["not tested"]
    bold = f"{n['holds']} of {testable} testable claims hold"
    rest = (
        f", {n['does not hold']} do not hold, {n['inconclusive']} inconclusive "
        f"({n['not tested']} not tested with these runs"
    )
    return bold, rest


def claims_markdown(df: pd.DataFrame) -> str:
    """The claims table as Markdown: a summary line and one table row per claim."""
    evalsets = sorted(df["evalset"].unique().tolist()) if "evalset" in df else []
    bold, rest = _summary(df)
    lines = [
        f"**{bold}**{rest}"
        + (f"; evaluation set {', '.join(evalsets)}" if evalsets else "")
        + f"). {INTERVAL_NOTE}",
        "",
        "| Claim | Where | Statement | Paper | Ours | Interval (95 %) | Seeds | Verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts = df["verdict"] if "verdict" in df else _verdicts_from_holds(df["holds"])
    for row, verdict in zip(df.to_dict("records"), verdicts, strict=True):
        cells = (
            f"`{row['claim']}`",
            *_shown(row)[1:],
            "n/a" if verdict == "not tested" else verdict,
        )
        lines.append("| " + " | ".join(_cell(v) for v in cells) + " |")
    return "\n".join(lines) + "\n"


def _shown(row: dict) -> tuple:
    """The cells of a claim row both tables show before the verdict: claim, where the paper makes
    it, statement, the paper's numbers, ours, the compared interval and the seeds."""
    fields = ("claim", "figure", "statement", "paper", "ours")
    return (*(row[f] for f in fields), row.get("interval", ""), row.get("seeds"))


#: Colour of each verdict in the HTML table.
_COLOURS = {
    "holds": "#1a7f37",
    "does not hold": "#b42318",
    "inconclusive": "#9a6700",
    "not tested": "#777",
}


def claims_html(df: pd.DataFrame) -> str:
    """The claims table as a self-contained HTML page (shown inline in the workflow report)."""
    import html

    bold, rest = _summary(df)
    verdicts = df["verdict"] if "verdict" in df else _verdicts_from_holds(df["holds"])
    rows = []
    for row, verdict in zip(df.to_dict("records"), verdicts, strict=True):
        cells = _shown(row)
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in cells)
            + f'<td style="color:{_COLOURS[verdict]};font-weight:600">{verdict}</td></tr>'
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>cliptail claims</title>"
        "<style>body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        "th{background:#f3f3f3}</style></head><body>"
        f"<p><b>{html.escape(bold)}</b>{html.escape(rest)}). {html.escape(INTERVAL_NOTE)}</p>"
        "<table><tr><th>Claim</th><th>Where</th><th>Statement</th><th>Paper</th><th>Ours</th>"
        "<th>Interval (95 %)</th><th>Seeds</th><th>Verdict</th></tr>"
        + "".join(rows)
        + "</table></body></html>\n"
    )
