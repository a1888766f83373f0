"""The five answers a study gives, computed from its tidy tables (shared by the HTML report and RESULTS.md).

The suite asks five questions; :func:`five_answers` answers each in one sentence that carries
its number, its uncertainty and the name of the section holding the evidence, and
:func:`caveats` lists what limits those answers (the model is not mT5, near-chance tasks,
small samples). Both read only tidy tables, so the report and ``docs/RESULTS.md`` open
with the same sentences.

Examples
--------
>>> task_chance("nli", "accuracy")
0.3333333333333333
>>> task_chance("ner", "f1")
0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["QUESTIONS", "Answer", "five_answers", "caveats", "task_chance", "zero_shot_levels", "with_method",
           "headline_coefficients",
           "SETTING_METRICS", "NEAR_CHANCE_MARGIN"]

#: The suite's five questions: (key, question). The key is the anchor of the evidence section.
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("alignment", "How aligned are the languages inside the model?"),
    ("probes", "Where do syntax and morphology live?"),
    ("transfer", "How well does transfer work?"),
    ("explain", "What explains transfer?"),
    ("source", "Which source language should one pick?"),
)

#: Metric names that are settings (chosen by the fitting code), never results.
SETTING_METRICS: frozenset[str] = frozenset({"C", "alpha", "lambda", "l2", "reg"})

#: A task whose mean cross-lingual zero-shot score is within this many points of chance is called near chance.
NEAR_CHANCE_MARGIN = 0.10

#: Metrics preferred, in order, when a task reports several.
_PRIMARY = ("accuracy", "f1", "entity_f1", "macro_f1", "micro_f1", "exact_match", "pearson", "spearman")


#: p-value methods of the transfer models when a coefficient table does not name them (tables written
#: before analysis.stats recorded a ``method`` column): the fit kind says how its p was computed.
FALLBACK_METHODS = {"ols": "Wald, SE clustered two-way by source and target", "mixed": "Wald, mixed model"}


def with_method(coef: pd.DataFrame) -> pd.DataFrame:
    """A coefficient table with a ``method`` column (kept when present, else named from the fit kind)."""
    if "method" in coef.columns:
        return coef
    kind = coef["fit"] if "fit" in coef.columns else pd.Series("ols", index=coef.index)
    return coef.assign(method=[FALLBACK_METHODS.get(str(k).split(":")[0], f"Wald ({k})") for k in kind])


def _is_headline(df: pd.DataFrame) -> pd.Series:
    return df["headline"].fillna(False).astype(bool) if "headline" in df.columns else pd.Series(False, index=df.index)


def headline_coefficients(coef: pd.DataFrame) -> pd.DataFrame:
    """The coefficient rows a reader is shown: one per (fit, term), with the p-value's ``method``.

    When the table marks ``headline`` rows (the method whose p the report uses), those rows are
    kept; where they carry no interval (a permutation p has none), ``beta``, ``se``, ``ci_low``
    and ``ci_high`` come from the model-based fit of the same term (``ols`` first) and
    ``interval_from`` names that fit. Rows tested net of the source and target effects
    (``method`` ending in ``-fe``) keep their own within-language ``beta`` and borrow no
    interval: the model-based fit estimates a different coefficient. Without ``headline`` the
    table is returned with its ``method`` (see :func:`with_method`).
    """
    c = with_method(coef)
    head = _is_headline(c)
    if not head.any():
        return c
    out = c[head].copy()
    rest = c[~head]
    need = [col for col in ("beta", "se", "ci_low", "ci_high") if col in c.columns]
    if rest.empty or not need or out[[x for x in ("ci_low", "ci_high") if x in out.columns]].notna().all(axis=None):
        return out
    fits = list(dict.fromkeys(rest["fit"].astype(str))) if "fit" in rest.columns else []
    base = rest[rest["fit"].astype(str) == ("ols" if "ols" in fits else fits[0])] if fits else rest
    base = base.drop_duplicates("term").set_index("term")
    own = out["method"].astype(str).str.endswith("-fe").to_numpy()
    for col in need:
        fill = out["term"].map(base[col]).where(~own)
        out[col] = out[col].where(out[col].notna(), fill) if col in out.columns else fill
    src = (base["fit"].iloc[0] if "fit" in base.columns and len(base) else "model-based") if "ci_low" in need else ""
    out["interval_from"] = np.where(own, "", src)
    return out


@dataclass(frozen=True)
class Answer:
    """One answer: the question's key, the question, the sentence, and whether the tables allowed one."""

    key: str
    question: str
    answer: str
    available: bool


def task_chance(task: str, metric: str) -> float | None:
    """The chance level of a downstream task's metric, when it is well defined.

    Sentence(-pair) classification scored by accuracy: one over the number of labels (the
    registered task's labels); any F1 of entity spans: 0. Token accuracy (POS) has no single
    chance level (the majority class differs by language): ``None``.
    """
    if metric in ("f1", "entity_f1"):
        return 0.0
    if metric != "accuracy":
        return None
    try:
        from transfer.tasks import get_task

        t = get_task(task)
    except Exception:  # noqa: BLE001 - a user task we cannot instantiate: no chance level
        return {"xnli": 1 / 3, "pawsx": 0.5}.get(task)
    if getattr(t, "kind", "token") == "token" or not getattr(t, "labels", ()):
        return None
    return 1.0 / len(t.labels)


def _primary(metrics: Sequence[str], task: str) -> str:
    try:
        from transfer.tasks import get_task

        p = get_task(task).primary
        if p in metrics:
            return p
    except Exception:  # noqa: BLE001
        pass
    return next((m for m in _PRIMARY if m in metrics), sorted(metrics)[0])


def _only(df: pd.DataFrame | None, model: str | None) -> pd.DataFrame | None:
    if df is None or df.empty:
        return None
    if model and "model" in df.columns and (df["model"].astype(str) == model).any():
        df = df[df["model"].astype(str) == model]
    return df


def zero_shot_levels(transfer: pd.DataFrame | None, model: str | None = None) -> pd.DataFrame:
    """Per task: primary metric, chance, mean zero-shot cross-lingual score (pairs, range), in-language mean.

    Returns
    -------
    DataFrame
        ``task, metric, chance, pairs, zero_shot, zero_shot_sd, zero_shot_min, zero_shot_max,
        in_language, near_chance`` (``near_chance``: within :data:`NEAR_CHANCE_MARGIN` of chance).
    """
    cols = ["task", "metric", "chance", "pairs", "zero_shot", "zero_shot_sd", "zero_shot_min", "zero_shot_max",
            "in_language", "near_chance"]
    t = _only(transfer, model)
    if t is None:
        return pd.DataFrame(columns=cols)
    t = t[pd.to_numeric(t["k"], errors="coerce") == 0]
    rows = []
    for task, g in t.groupby("task", sort=True):
        metric = _primary(sorted(g["metric"].astype(str).unique()), str(task))
        g = g[g["metric"] == metric]
        cross = g[g["src"].astype(str) != g["tgt"].astype(str)].groupby(["src", "tgt"])["value"].mean()
        own = g[g["src"].astype(str) == g["tgt"].astype(str)].groupby("src")["value"].mean()
        ch = task_chance(str(task), metric)
        z = float(cross.mean()) if len(cross) else np.nan
        rows.append({"task": str(task), "metric": metric, "chance": ch if ch is not None else np.nan,
                     "pairs": len(cross), "zero_shot": z,
                     "zero_shot_sd": float(cross.std()) if len(cross) > 1 else np.nan,
                     "zero_shot_min": float(cross.min()) if len(cross) else np.nan,
                     "zero_shot_max": float(cross.max()) if len(cross) else np.nan,
                     "in_language": float(own.mean()) if len(own) else np.nan,
                     "near_chance": bool(ch is not None and np.isfinite(z) and z - ch < NEAR_CHANCE_MARGIN)})
    return pd.DataFrame(rows, columns=cols)


def _alignment_answer(alignment: pd.DataFrame | None, model: str | None, control: str | None) -> str | None:
    a = _only(alignment, model)
    if a is None:
        return None
    if "length_control" in a.columns:  # read the plain variant; the length-controlled one is reported beside it
        plain = a[~a["length_control"].fillna(False).astype(bool)]
        a = plain if len(plain) else a
    metrics = list(a["metric"].astype(str).unique())
    metric = next((m for m in ("cka", "retrieval", "svcca", "pwcca") if m in metrics), metrics[0])
    g = a[a["metric"] == metric]
    by = g.groupby("layer")["value"].mean()
    peak = int(by.idxmax())
    at = g[g["layer"] == peak]
    q1, q3 = at["value"].quantile([0.25, 0.75])
    npairs = at.drop_duplicates(["lang_a", "lang_b"]).shape[0]
    s = (f"{metric.upper() if metric == 'cka' else metric} between translations peaks at layer {peak} "
         f"(mean {by.max():.2f} over {npairs} language pairs, interquartile range {q1:.2f}-{q3:.2f}; layer "
         f"{int(by.index[0])}: {by.iloc[0]:.2f}, last layer: {by.iloc[-1]:.2f})")
    if {"ci_low", "ci_high"} <= set(at.columns) and at["ci_low"].notna().any():
        s += f", median 95% bootstrap interval width {float((at['ci_high'] - at['ci_low']).median()):.3f}"
    if "null_level" in at.columns and pd.to_numeric(at["null_level"], errors="coerce").notna().any():
        s += f", against a null level of {float(pd.to_numeric(at['null_level'], errors='coerce').mean()):.2f}"
    if control and alignment is not None and "model" in alignment.columns:
        c = alignment[(alignment["model"].astype(str) == control) & (alignment["metric"] == metric)
                      & (alignment["layer"] == peak)]
        if len(c):
            s += f"; the random-initialised control reaches {float(c['value'].mean()):.2f} at that layer"
    return s + "."


def _probe_main(g: pd.DataFrame) -> tuple[str, str] | None:
    for probe, metric in (("linear", "accuracy"), ("ridge", "r2"), ("bilinear", "uas"), ("mlp", "accuracy")):
        if ((g["probe"] == probe) & (g["metric"] == metric)).any():
            return probe, metric
    return None


def _probe_best(p: pd.DataFrame, task: str) -> dict | None:
    g = p[p["task"].astype(str) == task]
    pm = _probe_main(g)
    if pm is None:
        return None
    rows = g[(g["probe"] == pm[0]) & (g["metric"] == pm[1])]
    by = rows.groupby("layer")["value"].mean()
    best = int(by.idxmax())
    at = rows[rows["layer"] == best].groupby("lang")["value"].mean()
    sel = g[(g["probe"] == pm[0]) & (g["metric"] == "selectivity") & (g["layer"] == best)]["value"]
    maj = g[(g["probe"] == "majority") & (g["metric"] == "accuracy") & (g["layer"] == best)]["value"]
    return {"task": task, "metric": pm[1], "layer": best, "value": float(by.max()),
            "sd": float(at.std()) if len(at) > 1 else np.nan, "langs": len(at),
            "layers": sorted(int(x) for x in by.index),
            "selectivity": float(sel.mean()) if len(sel) else np.nan,
            "majority": float(maj.mean()) if len(maj) else np.nan}


def _probes_answer(probes: pd.DataFrame | None, model: str | None) -> str | None:
    p = _only(probes, model)
    if p is None or not {"probe", "task", "lang"} <= set(p.columns):
        return None
    if {"train_lang", "test_lang"} <= set(p.columns):
        p = p[p["train_lang"].astype(str) == p["test_lang"].astype(str)]
    tasks = list(dict.fromkeys(p["task"].astype(str)))
    syntax = [t for t in ("upos", "deprel", "tree-depth", "head-distance") if t in tasks]
    morph = [t for t in tasks if t.startswith("morph:")]
    parts = []
    for t in syntax[:3]:
        b = _probe_best(p, t)
        if b is None:
            continue
        s = f"{t} at layer {b['layer']} ({b['metric']} {b['value']:.2f}"
        if np.isfinite(b["sd"]):
            s += f" ± {b['sd']:.2f} SD over {b['langs']} languages"
        if np.isfinite(b["majority"]):
            s += f"; majority class {b['majority']:.2f}"
        if np.isfinite(b["selectivity"]):
            s += f"; selectivity {b['selectivity']:.2f}"
        parts.append(s + ")")
    if morph:
        bests = [b for b in (_probe_best(p, t) for t in morph) if b is not None]
        if len(bests) == 1:
            b = bests[0]
            parts.append(f"{b['task']} at layer {b['layer']} ({b['metric']} {b['value']:.2f})")
        elif bests:
            layers = [b["layer"] for b in bests]
            parts.append(f"{len(bests)} morphological features peak at layers {min(layers)}-{max(layers)} "
                         f"(median {float(np.median(layers)):g})")
    if not parts:
        return None
    all_layers = sorted(set(int(x) for x in p["layer"].unique()))
    return (f"Linear probes (of layers {', '.join(map(str, all_layers))}) decode best: " + "; ".join(parts) + ".")


def _transfer_answer(levels: pd.DataFrame) -> str | None:
    if levels.empty:
        return None
    parts = []
    for r in levels.itertuples(index=False):
        if not np.isfinite(r.zero_shot):
            continue
        s = (f"{r.task} {r.metric} {r.zero_shot:.2f} zero-shot (SD {r.zero_shot_sd:.2f} over {r.pairs} pairs, "
             f"range {r.zero_shot_min:.2f}-{r.zero_shot_max:.2f}")
        if np.isfinite(r.in_language):
            s += f"; in-language {r.in_language:.2f}"
        if np.isfinite(r.chance):
            s += f"; chance {r.chance:.2f}" + (", **near chance**" if r.near_chance else "")
        parts.append(s + ")")
    return ("Mean cross-lingual zero-shot scores: " + "; ".join(parts) + ".") if parts else None


def _explain_answer(coefficients: pd.DataFrame | None, lolo: pd.DataFrame | None,
                    set_tests: pd.DataFrame | None = None) -> str | None:
    if coefficients is None or coefficients.empty or "term" not in coefficients.columns:
        return None
    c = headline_coefficients(coefficients)
    if "fit" in c.columns:
        fits = list(dict.fromkeys(c["fit"].astype(str)))
        c = c[c["fit"].astype(str) == ("ols" if "ols" in fits else fits[0])]
    c = c[~c["term"].astype(str).isin(("const", "Intercept")) & ~c["term"].astype(str).str.startswith("task[")]
    if c.empty:
        return None
    top = c.loc[c["beta"].abs().idxmax()]
    how = f" ({top['method']})" if pd.notna(top.get("method")) else ""
    s = f"The strongest predictor is {top['term']} (β = {top['beta']:+.3f} per SD"
    if {"ci_low", "ci_high"} <= set(c.columns) and pd.notna(top.get("ci_low")):
        s += f", 95% interval {top['ci_low']:+.3f} to {top['ci_high']:+.3f}"
        if pd.notna(top.get("interval_from")) and top.get("interval_from"):
            s += f" ({top['interval_from']})"
    if "p" in c.columns and pd.notna(top.get("p")):
        s += f", p = {top['p']:.3g}{how}"
    s += ")"
    if "p" in c.columns:
        s += f"; {int((c['p'] < 0.05).sum())} of {len(c)} predictors have p < 0.05"
        if c["p"].isna().any():
            s += (f" ({int(c['p'].isna().sum())} without a p-value: too few languages for a permutation test "
                  f"within languages)")
    if "n" in c.columns and c["n"].notna().any():
        s += f", n = {int(c['n'].max())} pairs"
    if lolo is not None and not lolo.empty and {"r2", "baseline_r2"} <= set(lolo.columns):
        lo = lolo.iloc[0]
        s += (f". Predicting unseen languages (leave-one-language-out) gives R² {lo['r2']:.2f} against "
              f"{lo['baseline_r2']:.2f} for the mean baseline")
    return s + "."


def _source_answer(ndcg: pd.DataFrame | None, transfer: pd.DataFrame | None, model: str | None) -> str | None:
    parts = []
    if ndcg is not None and not ndcg.empty and {"method", "ndcg"} <= set(ndcg.columns):
        by = ndcg.groupby("method")["ndcg"].agg(["mean", "std", "size"])
        if "model" in by.index:
            m = by.loc["model"]
            others = by.drop(index="model")
            s = f"the feature-based recommender ranks sources with NDCG@3 {m['mean']:.2f} (SD {m['std']:.2f}, " \
                f"{int(m['size'])} held-out targets)"
            if len(others):
                best = others["mean"].idxmax()
                s += f" against {others.loc[best, 'mean']:.2f} for the best baseline ({best})"
            parts.append(s)
    t = _only(transfer, model)
    if t is not None:
        z = t[(pd.to_numeric(t["k"], errors="coerce") == 0) & (t["src"].astype(str) != t["tgt"].astype(str))]
        best = []
        for task, g in z.groupby("task", sort=True):
            metric = _primary(sorted(g["metric"].astype(str).unique()), str(task))
            by = g[g["metric"] == metric].groupby("src")["value"].mean().sort_values(ascending=False)
            if len(by) >= 2:
                best.append(f"{task}: {by.index[0]} ({by.iloc[0]:.2f} mean over targets; next {by.index[1]} "
                            f"{by.iloc[1]:.2f})")
        if best:
            parts.append("the best single source by mean zero-shot score is " + "; ".join(best))
    if not parts:
        return None
    s = "; ".join(parts)
    return s[0].upper() + s[1:] + "."


def five_answers(*, model: str | None, control: str | None = None, alignment: pd.DataFrame | None = None,
                 probes: pd.DataFrame | None = None, transfer: pd.DataFrame | None = None,
                 coefficients: pd.DataFrame | None = None, lolo: pd.DataFrame | None = None,
                 ndcg: pd.DataFrame | None = None) -> list[Answer]:
    """One :class:`Answer` per question of :data:`QUESTIONS`, computed from the tables given.

    Parameters
    ----------
    model, control : str, optional
        The model whose rows are read, and its random-initialised control.
    alignment, probes, transfer : DataFrame, optional
        The tidy tables of ``representations.align``, ``probes.train`` and ``transfer.run``.
    coefficients, lolo : DataFrame, optional
        ``explain_transfer``'s coefficient table (``method``/``headline`` used when present) and
        its leave-one-language-out summary.
    ndcg : DataFrame, optional
        Per-target recommender evaluation (``method, ndcg``).

    Returns
    -------
    list of Answer
        Five answers; an answer the tables do not allow says which table is missing.
    """
    levels = zero_shot_levels(transfer, model)
    texts = {
        "alignment": (_alignment_answer(alignment, model, control), "no alignment table"),
        "probes": (_probes_answer(probes, model), "no probe table"),
        "transfer": (_transfer_answer(levels), "no zero-shot rows in the transfer table"),
        "explain": (_explain_answer(coefficients, lolo), "no transfer model (needs transfer and pair features)"),
        "source": (_source_answer(ndcg, transfer, model), "no recommender evaluation or zero-shot grid"),
    }
    out = []
    for key, question in QUESTIONS:
        text, missing = texts[key]
        out.append(Answer(key, question, text if text else f"Not answered by this run: {missing}.", bool(text)))
    return out


def caveats(*, model: str | None, transfer: pd.DataFrame | None = None, probes: pd.DataFrame | None = None,
            alignment: pd.DataFrame | None = None) -> list[str]:
    """What limits the answers: the model (not mT5), near-chance tasks, small samples.

    Returns
    -------
    list of str
        One sentence per caveat, most important first.
    """
    out = []
    label = str(model or "")
    if "mt5" not in label.lower():
        out.append(f"The model is {label or 'unnamed'}, not mT5: published mT5 results are compared across models, "
                   "not reproduced.")
    levels = zero_shot_levels(transfer, model)
    near = levels[levels["near_chance"]]
    for r in near.itertuples(index=False):
        out.append(f"{r.task} is near chance: mean zero-shot {r.metric} {r.zero_shot:.2f} against chance "
                   f"{r.chance:.2f}; its transfer differences are mostly noise.")
    t = _only(transfer, model)
    if t is not None:
        langs = set(t["src"].astype(str)) | set(t["tgt"].astype(str))
        seeds = t["seed"].nunique() if "seed" in t.columns else 1
        n_test = int(pd.to_numeric(t["n_test"], errors="coerce").median()) if "n_test" in t.columns else None
        if len(langs) < 10 or seeds < 3 or (n_test is not None and n_test < 500):
            out.append(f"Small transfer sample: {len(langs)} languages ({len(langs) * (len(langs) - 1)} ordered "
                       f"pairs), {seeds} seed(s)" + (f", median {n_test} test examples per cell" if n_test else "")
                       + "; intervals are wide and language-level effects are confounded with pairs.")
    p = _only(probes, model)
    if p is not None and "lang" in p.columns:
        nl = p["lang"].astype(str).nunique()
        if nl < 10:
            out.append(f"Probes cover {nl} languages: layer findings may not hold for others.")
    a = _only(alignment, model)
    if a is not None and "n" in a.columns:
        n = pd.to_numeric(a["n"], errors="coerce").median()
        if np.isfinite(n) and n < 1000:
            out.append(f"Alignment rests on {int(n)} parallel sentences per pair.")
    return out
