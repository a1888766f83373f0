"""In-language and zero-shot levels of a fine-tuned grid next to a frozen-head grid, per task and language (#16).

    python bench/finetune_levels.py --finetune runs/ft-topn-zs --head runs/study/transfer [--json out.json]

Reads the two ``transfer.run`` output directories (their ``transfer.parquet``), keeps k = 0 and the
primary metric of each task (accuracy, or entity F1 for NER), and prints Markdown tables: per task,
the in-language score of every language in both regimes and the difference, the mean zero-shot
score over ordered pairs, and the issue's targets. The fine-tuned run's cost is read from its cell
files (the seconds each cell recorded, its share of the source's training included) and from the
timestamps of its first and last cell files (the grid's wall time when the run was not resumed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

PRIMARY = {"pos": "accuracy", "ner": "f1", "nli": "accuracy", "paws": "accuracy"}
TARGETS = {"pos": 0.94, "ner": 0.70, "nli": 0.55}


def levels(run: Path) -> pd.DataFrame:
    if (run / "transfer.parquet").is_file():
        t = pd.read_parquet(run / "transfer.parquet")
    else:  # a grid still running: its finished cells
        t = pd.DataFrame([r for f in sorted((run / "cells").rglob("*.json"))
                          for r in json.loads(f.read_text())["rows"]])
    t = t[(t["k"] == 0) & (t["metric"] == t["task"].map(PRIMARY))]
    t = t.groupby(["task", "src", "tgt"], as_index=False)["value"].mean()
    return t


def cell_seconds(run: Path) -> tuple[float, float, int]:
    files = sorted((run / "cells").rglob("*.json"))
    secs = sum(json.loads(f.read_text())["seconds"] for f in files)
    times = [f.stat().st_mtime for f in files]
    return secs, (max(times) - min(times)) if times else 0.0, len(files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--finetune", required=True, type=Path)
    ap.add_argument("--head", required=True, type=Path)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    ft, hd = levels(args.finetune), levels(args.head)
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
    secs, wall, n = cell_seconds(args.finetune)
    print(f"\nFine-tuned run: {n} cells, {secs / 60:.1f} worker-minutes recorded in the cells, "
          f"{wall / 60:.1f} minutes between the first and the last cell file.")
    out["cost"] = {"cells": n, "worker_seconds": secs, "first_to_last_cell_seconds": wall}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
