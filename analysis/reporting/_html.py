"""The HTML page of the report: body builder, style sheet, the summary box and config tables."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.summary import Answer
from crossling.errors import SuiteError

__all__: list[str] = []

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1000px;margin:1em auto;
padding:0 1em;color:#222;line-height:1.4;overflow-wrap:anywhere}
h1{font-size:1.5em;margin:.2em 0 .1em}h2{border-bottom:1px solid #bbb;margin-top:1.8em;font-size:1.25em}
h3{font-size:1.05em}.lede{margin:.1em 0 .4em;color:#444;font-size:14px}
#summary h2{margin-top:.4em;border:0}ol.answers{padding-left:1.3em;margin:.3em 0}
ol.answers li{margin:.25em 0;font-size:14.5px}ol.answers a{font-size:12px;white-space:nowrap}
.caveats{background:#fff6e0;border-left:4px solid #E69F00;padding:.3em .8em;font-size:13px;margin:.5em 0}
.caveats ul{margin:.2em 0;padding-left:1.2em}
.tw{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:12px;margin:.3em 0 1em}th,td{border:1px solid #ccc;padding:2px 6px}
th{background:#f0f0f0}td{text-align:right}td:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:13px;color:#555}
.skip{color:#a00}.note{color:#555;font-size:13px}
"""



class _Html:
    """Accumulates the report body."""

    def __init__(self, max_rows: int):
        self.parts: list[str] = []
        self.max_rows = max_rows
        self.n_figures = 0

    def h(self, level: int, text: str, anchor: str | None = None) -> None:
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.parts.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")

    def p(self, text: str, cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{c}>{html.escape(text)}</p>")

    def table(self, df: pd.DataFrame, caption: str = "", max_rows: int | None = None) -> None:
        if caption:
            self.parts.append(f'<p class="note">{html.escape(caption)}</p>')
        limit = max_rows or self.max_rows
        more = ""
        if len(df) > limit:
            more = f'<p class="note">first {limit} of {len(df)} rows (all rows in the CSV/Parquet file)</p>'
            df = df.head(limit)
        self.parts.append('<div class="tw">' + df.to_html(index=False, escape=True, na_rep="",
                                                          float_format=lambda x: f"{x:.4g}", border=0)
                          + "</div>" + more)

    def figure(self, png: Path, caption: str) -> None:
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        self.n_figures += 1
        self.parts.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                          f"<figcaption>Figure {self.n_figures}. {html.escape(caption)}</figcaption></figure>")

    def skip(self, what: str, exc: Exception) -> None:
        self.parts.append(f'<p class="skip">{html.escape(what)} skipped: {html.escape(str(exc))}</p>')


def _attempt(doc: _Html, what: str, fn: Callable[[], None]) -> None:
    """Run one analysis; a suite error (missing data, bad selection) becomes a note in the report."""
    try:
        fn()
    except SuiteError as exc:
        doc.skip(what, exc)


def _flatten(d: object, prefix: str = "") -> list[tuple[str, str]]:
    """Nested mappings/lists as (dotted key, short value) rows."""
    rows: list[tuple[str, str]] = []
    if isinstance(d, dict):
        for k, v in d.items():
            if str(k) in ("checksums",):
                rows.append((f"{prefix}{k}", f"{len(v) if hasattr(v, '__len__') else ''} entries (in the file)"))
                continue
            rows += _flatten(v, f"{prefix}{k}.")
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        rows.append((prefix.rstrip("."), f"{len(d)} records (in the file)"))
    else:
        text = ", ".join(map(str, d)) if isinstance(d, list) else str(d)
        rows.append((prefix.rstrip("."), text if len(text) <= 200 else text[:200] + " ..."))
    return rows


def _config_table(path: Path) -> pd.DataFrame:
    """A YAML or JSON config/manifest as a readable two-column table."""
    from crossling.config import load_yaml

    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else load_yaml(path)
    except (SuiteError, ValueError, OSError) as exc:
        return pd.DataFrame({"setting": ["(unreadable)"], "value": [str(exc)]})
    return pd.DataFrame(_flatten(data), columns=["setting", "value"])


def _summary_html(answers: list[Answer], notes: list[str]) -> str:
    items = "".join(
        f'<li><b>{html.escape(a.question)}</b> {_md_bold(html.escape(a.answer))} '
        f'<a href="#{a.key}">evidence&nbsp;&rarr;</a></li>' for a in answers)
    cav = "".join(f"<li>{_md_bold(html.escape(c))}</li>" for c in notes)
    return (f'<section id="summary"><h2>Summary: five questions</h2><ol class="answers">{items}</ol>'
            + (f'<div class="caveats"><b>Caveats</b><ul>{cav}</ul></div>' if cav else "") + "</section>")


def _md_bold(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)


