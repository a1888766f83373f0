"""In-language and zero-shot levels of a fine-tuned grid next to a frozen-head grid, per task and language (#16).

    python bench/finetune_levels.py --finetune runs/ft-topn-zs --head runs/study/transfer [--json out.json]
    python bench/finetune_levels.py --finetune runs/ft-len --head docs/results/tables/transfer.csv.gz \
        --previous docs/results/tables/transfer_finetune.csv.gz     # paired against an earlier grid

Reads the two ``transfer.run`` output directories (their ``transfer.parquet``), keeps k = 0 and the
primary metric of each task (accuracy, or entity F1 for NER), and prints Markdown tables: per task,
the in-language score of every language in both regimes and the difference, the mean zero-shot
score over ordered pairs, and the issue's targets. The fine-tuned run's cost is read from its cell
files (the seconds each cell recorded, its share of the source's training included) and from the
timestamps of its first and last cell files (the grid's wall time when the run was not resumed),
per task too. ``--head`` and ``--previous`` may also name a table file (``.parquet``, ``.csv``,
``.csv.gz``, e.g. the study's committed tables). ``--previous`` compares the fine-tuned grid cell by
cell with an earlier one on the same cells (another option value): mean and largest difference.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

PRIMARY = {"pos": "accuracy", "ner": "f1", "nli": "accuracy", "paws": "accuracy"}
TARGETS = {"pos": 0.94, "ner": 0.70, "nli": 0.55}


def table(run: Path) -> pd.DataFrame:
    """Every row of a grid: a table file, a run's ``transfer.parquet``, or (still running) its cell files."""
    if run.is_file():  # a table file (the study's committed tables are .csv.gz)
        return pd.read_parquet(run) if run.suffix == ".parquet" else pd.read_csv(run)
    if (run / "transfer.parquet").is_file():
        return pd.read_parquet(run / "transfer.parquet")
    return pd.DataFrame([r for _, c in cells(run) for r in c["rows"]])


def levels(t: pd.DataFrame) -> pd.DataFrame:
    """k = 0 primary-metric scores per (task, src, tgt), mean over seeds."""
    t = t[(t["k"] == 0) & (t["metric"] == t["task"].map(PRIMARY))]
    return t.groupby(["task", "src", "tgt"], as_index=False)["value"].mean()


def fewshot(t: pd.DataFrame) -> pd.DataFrame:
    """Primary-metric scores of every k (mean over seeds) of the sources that have k > 0 cells."""
    t = t[t["metric"] == t["task"].map(PRIMARY)]
    srcs = t.loc[t["k"] > 0, ["task", "src"]].drop_duplicates()
    t = t.merge(srcs, on=["task", "src"])
    return t.groupby(["task", "src", "tgt", "k"], as_index=False)["value"].mean()


def cells(run: Path) -> list[tuple[float, dict]]:
    """(modification time, content) of each cell file of a run directory, read once."""
    return [(f.stat().st_mtime, json.loads(f.read_text())) for f in sorted((run / "cells").rglob("*.json"))]


def cell_seconds(found: list[tuple[float, dict]], task: str | None = None) -> tuple[float, float, int]:
    """Worker seconds recorded in the cells, seconds from the first to the last, and cells (of one task)."""
    sel = [(t, c) for t, c in found if task is None or (c["rows"] and c["rows"][0]["task"] == task)]
    times = [t for t, _ in sel]
    return sum(c["seconds"] for _, c in sel), (max(times) - min(times)) if times else 0.0, len(sel)


def paired(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """Per task and cell kind (in-language, zero-shot): the new grid minus the old on their common cells."""
    m = new.merge(old, on=["task", "src", "tgt"], suffixes=("", "_old"))
    m["kind"] = (m["src"] == m["tgt"]).map({True: "in-language", False: "zero-shot"})
    m["diff"] = m["value"] - m["value_old"]
    g = m.groupby(["task", "kind"])
    return pd.DataFrame({"cells": g.size(), "new": g["value"].mean(), "old": g["value_old"].mean(),
                         "mean_diff": g["diff"].mean(), "largest_abs_diff": g["diff"].apply(lambda d: d.abs().max()),
                         "new_higher": g["diff"].apply(lambda d: int((d > 0).sum()))}).reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--finetune", required=True, type=Path)
    ap.add_argument("--head", required=True, type=Path)
    ap.add_argument("--previous", type=Path, default=None,
                    help="an earlier fine-tuned grid on the same cells (directory or table file)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    ft_rows, hd_rows = table(args.finetune), table(args.head)
    ft, hd = levels(ft_rows), levels(hd_rows)
    out: dict[str, object] = {}
    for task in sorted(set(ft["task"])):
        f, h = ft[ft["task"] == task], hd[hd["task"] == task]
        fi = f[f["src"] == f["tgt"]].set_index("src")["value"]
        langs = sorted(fi.index)
        hi = h[h["src"] == h["tgt"]].set_index("src")["value"].reindex(langs)
        print(f"\n### {task} ({PRIMARY[task]}), k = 0\n")
        print("| | " + " | ".join(langs) + " | mean |")
        print("| --- | " + " | ".join("---:" for _ in langs) + " | ---: |")
        for name, s in (("fine-tuned, in-language", fi), ("frozen head, in-language", hi)):
            s = s.reindex(langs)
            print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in s) + f" | **{s.mean():.3f}** |")
        d = (fi - hi).reindex(langs)
        print("| difference | " + " | ".join(f"{v:+.3f}" for v in d) + f" | {d.mean():+.3f} |")
        fz = f[f["src"] != f["tgt"]].groupby("src")["value"].mean().reindex(langs)
        hz = h[h["src"] != h["tgt"]].groupby("src")["value"].mean().reindex(langs)
        for name, s in (("fine-tuned, zero-shot (mean over targets)", fz),
                        ("frozen head, zero-shot (mean over targets)", hz)):
            print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in s) + f" | **{s.mean():.3f}** |")
        tgt = TARGETS.get(task)
        print(f"\nTarget (10-language in-language mean): >= {tgt}; fine-tuned {fi.mean():.3f}, frozen head "
              f"{hi.mean():.3f}; better than the head in {int((d > 0).sum())} of {len(langs)} languages.")
        out[task] = {"finetune_in_language": fi.to_dict(), "head_in_language": hi.reindex(langs).to_dict(),
                     "finetune_in_language_mean": float(fi.mean()), "head_in_language_mean": float(hi.mean()),
                     "finetune_zero_shot_mean": float(f[f["src"] != f["tgt"]]["value"].mean()),
                     "head_zero_shot_mean": float(h[(h["src"] != h["tgt"]) & h["src"].isin(langs)
                                                    & h["tgt"].isin(langs)]["value"].mean())}
    found = cells(args.finetune) if args.finetune.is_dir() else []
    secs, wall, n = cell_seconds(found)
    print(f"\nFine-tuned run: {n} cells, {secs / 60:.1f} worker-minutes recorded in the cells, "
          f"{wall / 60:.1f} minutes between the first and the last cell file.")
    out["cost"] = {"cells": n, "worker_seconds": secs, "first_to_last_cell_seconds": wall}
    for task in sorted(set(ft["task"])):
        ts, _, tn = cell_seconds(found, task)
        print(f"- {task}: {tn} cells, {ts / 60:.1f} worker-minutes")
        out["cost"][task] = {"cells": tn, "worker_seconds": ts}  # type: ignore[index]
    fs = fewshot(ft_rows)
    if len(fs):
        hf = fewshot(hd_rows)
        print("\nFew-shot (sources with k > 0 cells; mean over their other targets; head: mean over its seeds):\n")
        print("| task | source | k | fine-tuned | frozen head | targets |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        rows = []
        for (task, src), g in fs.groupby(["task", "src"]):
            h = hf[(hf["task"] == task) & (hf["src"] == src)]
            for k in sorted(g["k"].unique()):
                gk = g[(g["k"] == k) & (g["tgt"] != src)]
                hk = h[(h["k"] == k) & h["tgt"].isin(gk["tgt"])]
                rows.append({"task": task, "src": src, "k": int(k), "finetune": float(gk["value"].mean()),
                             "head": float(hk["value"].mean()) if len(hk) else float("nan"), "targets": len(gk)})
                r = rows[-1]
                print(f"| {task} | {src} | {r['k']} | {r['finetune']:.3f} | {r['head']:.3f} | {r['targets']} |")
        out["fewshot"] = rows
    if args.previous is not None:
        p = paired(ft, levels(table(args.previous)))
        print(f"\nPaired with {args.previous} (this grid minus that one, same cells):\n")
        print("| task | cells | kind | this grid | previous | mean difference | largest abs. difference | this higher |")
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in p.itertuples():
            print(f"| {r.task} | {r.cells} | {r.kind} | {r.new:.3f} | {r.old:.3f} | {r.mean_diff:+.3f} | "
                  f"{r.largest_abs_diff:.3f} | {r.new_higher} of {r.cells} |")
        out["paired"] = p.to_dict("records")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
