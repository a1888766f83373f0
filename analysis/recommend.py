"""Recommend source languages for a target: predicted transfer and few-shot need.

A transfer model (:func:`analysis.stats.fit_transfer`) fitted on the observed
zero-shot transfer of one task predicts the score of every candidate source
for the target from the pair features alone, so a target that was never in
the experiments can be ranked as long as its pair features exist. With a
few-shot law per task (:mod:`analysis.stats`), the predicted zero-shot
score becomes the intercept ``a`` of ``score(k) = a + b log(k + c)`` and the
law is inverted for the number of target examples needed to reach a score.

The ranking is evaluated by leave-one-target-out NDCG@3 (as LangRank, Lin et
al. 2019) against two baselines: always-English and nearest-by-lexical-
similarity.

Command line::

    python -m analysis.recommend --task nli --target sw \\
        --transfer runs/transfer/transfer.parquet --features runs/typology/pair_features.parquet \\
        --score 0.7
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis._frames import features_wide, pair_design, select_transfer
from analysis.stats._models import TransferFit, default_feature_groups, fit_transfer
from analysis.stats import fit_laws, k_for_score
from analysis.stats import MIN_COVERAGE, default_predictors, select_features
from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.config import Interval, save_config
from crossling.errors import ConfigError, DataError
from crossling.registry import Registry
from crossling.tables import read_table, write_table

__all__ = [
    "Recommender",
    "fit_recommender",
    "ndcg_at_k",
    "evaluate_ranking",
    "RANKERS",
    "RecommendConfig",
    "build_parser",
    "main",
]

#: Ranking methods compared in :func:`evaluate_ranking`. A ranker is called as
#: ``ranker(train_scores, wide, target, candidates, ctx)`` and returns the
#: candidates in ranked order (best first).
RANKERS: Registry[Callable] = Registry("source ranker")


def ndcg_at_k(ranked: Sequence[str], observed: dict[str, float], k: int = 3, *, gamma_max: int = 10,
              gain: str = "exp") -> float:
    """NDCG@k of a ranking of sources against observed transfer scores.

    Relevance follows LangRank: the true rank ``r`` (0 = best observed
    source; tied scores share the better rank) gives relevance
    ``max(0, gamma_max - r)``. Gain is ``2^rel - 1``
    (``gain="exp"``, the LambdaRank/LightGBM convention) or ``rel``
    (``"linear"``); discount ``1 / log2(position + 1)``.

    Parameters
    ----------
    ranked : list of str
        Predicted order, best first (only sources in ``observed`` count).
    observed : dict source -> score
    k : int, default=3

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> obs = {"a": 0.9, "b": 0.8, "c": 0.1, "d": 0.0}
    >>> ndcg_at_k(["a", "b", "c", "d"], obs)
    1.0
    >>> ndcg_at_k(["d", "c", "b", "a"], obs) < 0.5
    True
    """
    if k < 1:
        raise ConfigError(f"k must be >= 1 for NDCG@k, got {k}.")
    true_order = sorted(observed, key=lambda s: (-observed[s], s))
    # true rank = number of sources with a strictly better score, so tied sources share a relevance
    rel = {s: max(0, gamma_max - sum(v > observed[s] for v in observed.values())) for s in observed}

    def g(r: float) -> float:
        return (2.0 ** r - 1) if gain == "exp" else float(r)

    ranked = [s for s in ranked if s in observed]
    dcg = sum(g(rel[s]) / np.log2(i + 2) for i, s in enumerate(ranked[:k]))
    idcg = sum(g(rel[s]) / np.log2(i + 2) for i, s in enumerate(true_order[:k]))
    return float(dcg / idcg) if idcg > 0 else float("nan")


@dataclass
class Recommender:
    """A fitted source-language recommender for one task.

    Attributes
    ----------
    fit : TransferFit
        The transfer model (predicts zero-shot score from pair features).
    wide : DataFrame
        Pair features, one row per ordered pair (``src, tgt`` + features).
    laws : DataFrame or None
        Few-shot laws of the task (``tgt, a, b, c``), from ``k > 0`` rows.
    task, model : str
    """

    fit: TransferFit
    wide: pd.DataFrame
    laws: pd.DataFrame | None
    task: str
    model: str
    observed: pd.DataFrame = field(default_factory=pd.DataFrame)

    def slope(self, target: str) -> tuple[float, float, str]:
        """Few-shot slope ``b`` and offset ``c`` for ``target`` and where they came from."""
        if self.laws is None or self.laws.empty:
            return float("nan"), 1.0, "none"
        own = self.laws[self.laws["tgt"].astype(str) == target]
        if not own.empty:
            return float(own["b"].median()), float(own["c"].median()), "target"
        return float(self.laws["b"].median()), float(self.laws["c"].median()), "task median"

    def rank(self, target: str, *, candidates: Sequence[str] | None = None, score: float | None = None,
             top: int | None = None) -> pd.DataFrame:
        """Rank candidate sources for ``target`` by predicted zero-shot transfer.

        Parameters
        ----------
        target : str
            Target language code (need not be in the transfer experiments).
        candidates : list of str, optional
            Sources to rank (default: every language with pair features to
            ``target``).
        score : float, optional
            Target score for the few-shot column ``k_needed``.
        top : int, optional
            Keep the best ``top``.

        Returns
        -------
        DataFrame
            ``rank, src, tgt, predicted, observed, n_missing_features,
            k_needed, slope_from, model, task`` (best first). Missing features
            are imputed with their training mean (counted in
            ``n_missing_features``).
        """
        w = self.wide[self.wide["tgt"] == target]
        w = w[w["src"] != target]
        if candidates is not None:
            unknown = sorted(set(candidates) - set(w["src"]))
            if unknown:
                raise DataError(
                    f"No pair features for source(s) {unknown} with target {target!r}; add them to the "
                    "pair-feature table or drop them from --sources."
                )
            w = w[w["src"].isin(list(candidates))]
        feats = self.fit.features
        present = w[feats].notna()
        w = w[present.any(axis=1)]
        if w.empty:
            known = sorted(set(self.wide["tgt"]))
            raise DataError(
                f"Target {target!r} has no pair features with any source. Targets with features: {known[:30]}"
                f"{'...' if len(known) > 30 else ''}. Compute pair features for it (analysis.typology)."
            )
        X = w[feats].copy()
        n_missing = X.isna().sum(axis=1).to_numpy()
        X = X.fillna(self.fit.center)
        X["task"] = self.task
        pred = self.fit.predict(X)
        out = pd.DataFrame({"src": w["src"].to_numpy(), "tgt": target, "predicted": pred,
                            "n_missing_features": n_missing})
        obs = self.observed
        if not obs.empty:
            o = obs[obs["tgt"] == target].set_index("src")["score"]
            out["observed"] = out["src"].map(o)
        else:
            out["observed"] = np.nan
        b, c, where = self.slope(target)
        if score is not None and np.isfinite(b):
            # the predicted zero-shot score is the law at k = 0: a + b*log(c), so a = zero_shot - b*log(c)
            out["k_needed"] = [float(k_for_score(score, z - b * np.log(c), b, c)) for z in pred]
        else:
            out["k_needed"] = np.nan
        out["slope_from"] = where
        out = out.sort_values(["predicted", "src"], ascending=[False, True], ignore_index=True)
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        out["model"], out["task"] = self.model, self.task
        return out.head(top) if top else out


def _features_for(wide: pd.DataFrame, scores: pd.DataFrame, names: Sequence[str] | None,
                  min_coverage: float) -> list[str]:
    cand = list(names) if names else default_predictors(wide.columns)
    joined = pair_design(scores, wide, cand, dropna=False)
    feats = list(names) if names else select_features(joined, cand, min_coverage=min_coverage)
    if not feats:
        raise DataError(f"No pair feature covers {min_coverage:.0%} of the transfer pairs (candidates {cand}).")
    return feats


def fit_recommender(
    transfer: pd.DataFrame,
    features: pd.DataFrame | None = None,
    *,
    task: str,
    wide: pd.DataFrame | None = None,
    feature_names: Sequence[str] | None = None,
    kind: str = "ols",
    model: str | None = None,
    metric: str | None = None,
    regime: str | None = None,
    layer: object | None = None,
    fewshot_c: float = 1.0,
    min_coverage: float = MIN_COVERAGE,
    exclude_target: str | None = None,
    fewshot: bool = True,
) -> Recommender:
    """Fit the transfer model (zero-shot rows) and few-shot laws (``k > 0`` rows) of a task.

    Parameters
    ----------
    transfer : DataFrame
        A ``transfer.run`` table.
    features : DataFrame
        Tidy pair-feature table (or pass ``wide``).
    exclude_target : str, optional
        Drop every row with this target before fitting (leave-one-target-out).
    fewshot : bool, default=True
        Also fit the task's few-shot laws (for ``k_needed``).

    Returns
    -------
    Recommender
    """
    if wide is None:
        if features is None:
            raise ConfigError("fit_recommender needs `features` (tidy) or `wide`.")
        wide = features_wide(features)
    tr = transfer if exclude_target is None else transfer[transfer["tgt"].astype(str) != exclude_target]
    scores = select_transfer(tr, task=task, model=model, metric=metric, regime=regime, layer=layer, k=0)
    feats = _features_for(wide, scores, feature_names, min_coverage)
    design = pair_design(scores, wide, feats)
    fit = fit_transfer(design, feats, kind)
    laws = None
    fs = tr[(tr["task"].astype(str) == task)]
    if fewshot and "k" in fs.columns and (pd.to_numeric(fs["k"], errors="coerce") > 0).any():
        # the same model and metric as the zero-shot scores (and regime/layer when chosen); cross-lingual curves only
        sel = fs[fs["model"].astype(str).isin(scores["model"].astype(str).unique())
                 & fs["metric"].astype(str).isin(scores["metric"].astype(str).unique())
                 & (fs["src"].astype(str) != fs["tgt"].astype(str))]
        for col, want in (("regime", regime), ("layer", layer)):
            if want is not None and col in sel.columns:
                sel = sel[sel[col].astype(str) == str(want)]
        try:
            laws = fit_laws(sel, c=fewshot_c)
        except DataError:
            laws = None
    return Recommender(fit=fit, wide=wide, laws=laws, task=task,
                       model=",".join(sorted(map(str, scores["model"].unique()))),
                       observed=scores[["src", "tgt", "score"]])


# --------------------------------------------------------------------------- rankers


@RANKERS.register("model")
def _rank_model(train, wide, target, candidates, ctx):
    """Predicted zero-shot transfer from the fitted pair-feature model."""
    rec = fit_recommender(ctx["transfer"], wide=wide, task=ctx["task"], feature_names=ctx["features"],
                          kind=ctx["kind"], exclude_target=target, fewshot=False, **ctx["select"])
    return rec.rank(target, candidates=candidates)["src"].tolist()


def _popularity(train: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
    mean = train.groupby("src")["score"].mean()
    return sorted(candidates, key=lambda s: (-mean.get(s, -np.inf), s))


@RANKERS.register("english")
def _rank_english(train, wide, target, candidates, ctx):
    """English first, then the other sources by their mean training-set transfer."""
    rest = _popularity(train, [c for c in candidates if c != "en"])
    return (["en"] if "en" in candidates else []) + rest


def _lexical_feature(wide: pd.DataFrame, name: str | None) -> str:
    cols = [c for c in wide.columns if c not in ("src", "tgt")]
    if name is None:
        lex = default_feature_groups(cols)["lexical"]
        if not lex:
            raise DataError(f"No lexical feature among the pair features {cols}; pass lexical_feature=.")
        return max(lex, key=lambda c: (wide[c].notna().mean(), c.startswith("lex_swadesh")))
    if name not in cols:
        raise ConfigError(f"lexical_feature {name!r} is not a pair feature; available: {cols}.")
    return name


@RANKERS.register("lexical")
def _rank_lexical(train, wide, target, candidates, ctx):
    """Nearest source by lexical similarity to the target.

    Whether the feature is a similarity or a distance is read from the
    training pairs (sign of its Spearman correlation with the observed
    transfer; targets other than ``target`` only), so names need not say.
    """
    name = _lexical_feature(wide, ctx.get("lexical_feature"))
    joined = train.merge(wide[["src", "tgt", name]], on=["src", "tgt"]).dropna(subset=[name])
    rho = joined[name].corr(joined["score"], method="spearman") if len(joined) > 2 else np.nan
    sign = -1.0 if np.isfinite(rho) and rho < 0 else 1.0  # -1: a distance, nearest = smallest
    w = wide[(wide["tgt"] == target) & wide["src"].isin(list(candidates))].set_index("src")[name]

    def key(s):
        v = w.get(s, np.nan)
        return (-sign * v if np.isfinite(v) else np.inf, s)

    return sorted(candidates, key=key)


def evaluate_ranking(
    transfer: pd.DataFrame,
    features: pd.DataFrame,
    *,
    task: str,
    k: int = 3,
    methods: Sequence[str] = ("model", "english", "lexical"),
    feature_names: Sequence[str] | None = None,
    kind: str = "ols",
    lexical_feature: str | None = None,
    min_sources: int = 4,
    **select,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-target-out NDCG@k of the recommender and baselines.

    For every target ``t`` with at least ``min_sources`` observed sources,
    each method ranks the observed sources of ``t`` using only data whose
    target is not ``t`` (the model is refitted without ``t``'s rows); the
    ranking is scored against ``t``'s observed zero-shot transfer.

    Returns
    -------
    per_target : DataFrame
        ``model, task, tgt, method, ndcg, top1, top1_observed, best_observed,
        best_source, n_sources``.
    summary : DataFrame
        Per method: ``model, method, mean_ndcg, sd_ndcg, n_targets, k, task``.
    """
    wide = features_wide(features)
    scores = select_transfer(transfer, task=task, k=0, **select)
    feats = _features_for(wide, scores, feature_names, MIN_COVERAGE)
    ctx = {"transfer": transfer, "task": task, "features": feats, "kind": kind, "select": select,
           "lexical_feature": lexical_feature}
    rows = []
    for target, sub in scores.groupby("tgt", sort=True):
        observed = dict(zip(sub["src"], sub["score"]))
        have = wide[(wide["tgt"] == target)].dropna(subset=feats)["src"]
        cands = sorted(set(observed) & set(have))
        if len(cands) < min_sources:
            continue
        observed = {s: observed[s] for s in cands}
        train = scores[scores["tgt"] != target]
        best = max(observed, key=observed.get)
        for m in methods:
            ranked = RANKERS.get(m)(train, wide, target, cands, ctx)
            rows.append({"task": task, "tgt": target, "method": m, "ndcg": ndcg_at_k(ranked, observed, k),
                         "top1": ranked[0], "top1_observed": observed[ranked[0]], "best_observed": observed[best],
                         "best_source": best, "n_sources": len(cands)})
    if not rows:
        raise DataError(f"No target of task {task!r} has {min_sources} or more observed sources with features.")
    per = pd.DataFrame(rows)
    per.insert(0, "model", ",".join(sorted(map(str, scores["model"].unique()))))
    summary = per.groupby(["model", "method"], sort=False).agg(mean_ndcg=("ndcg", "mean"), sd_ndcg=("ndcg", "std"),
                                                    n_targets=("ndcg", "size")).reset_index()
    summary["k"] = k
    summary["task"] = task
    return per, summary


# --------------------------------------------------------------------------- CLI


@dataclass
class RecommendConfig:
    """Configuration of ``python -m analysis.recommend`` (YAML keys = field names).

    Attributes
    ----------
    transfer : str
        Transfer table (.parquet/.csv) from ``transfer.run``; required.
    features : str
        Pair-feature table (.parquet/.csv) from ``analysis.typology``; required.
    task : str
        Task name as in the transfer table (e.g. xnli); required.
    target : str
        Target language code (e.g. sw); required unless ``evaluate``.
    score : float or None
        Score to reach: adds the predicted number of target examples.
    top : int
        Show the best N sources.
    sources : list of str
        Candidate sources (default: all with features).
    feature_names : list of str
        Predictors (default: all covering 90% of pairs).
    kind : str
        Transfer model: ``ols`` or ``mixed``.
    model : str or None
        Model label to use when the table holds several.
    metric : str or None
        Metric to use when the table holds several.
    regime : str or None
        Regime to use when the table holds several.
    layer : str or None
        Layer to use when the table holds several.
    fewshot_c : float
        ``c`` of the few-shot law ``a + b log(k + c)``.
    evaluate : bool
        Also report leave-one-target-out NDCG@k against the baselines.
    k : int
        Cut-off of NDCG@k.
    out : str or None
        Write the ranking to ``<out>.parquet/.csv``, NDCG rows to ``<out>_ndcg.*``
        and the resolved config to ``<out>.config.yaml``.
    """

    transfer: str = ""
    features: str = ""
    task: str = ""
    target: str = ""
    score: float | None = None
    top: int = 10
    sources: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    kind: str = "ols"
    model: str | None = None
    metric: str | None = None
    regime: str | None = None
    layer: str | None = None
    fewshot_c: float = 1.0
    evaluate: bool = False
    k: int = 3
    out: str | None = None

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "score": [Interval("real", None, None), None],
        "top": [Interval("int", 1, None)],
        "fewshot_c": [Interval("real", 0, None, closed="neither")],
        "k": [Interval("int", 1, None)],
    }

    def validate(self) -> None:
        """Check required paths and values."""
        for name in ("transfer", "features", "task", "target"):
            if not getattr(self, name) and not (name == "target" and self.evaluate):
                raise ConfigError(f"--{name.replace('_', '-')} is required (config key {name!r}).")
        for name in ("transfer", "features"):
            if not Path(getattr(self, name)).is_file():
                raise ConfigError(f"--{name} {getattr(self, name)!r} is not a file; pass a .parquet or .csv table.")
        if self.kind not in ("ols", "mixed"):
            raise ConfigError(f"--kind must be 'ols' or 'mixed', got {self.kind!r}.")
        if self.evaluate and not self.target and self.score is not None:
            raise ConfigError("--score needs --target (the score to reach on which target?).")
        if self.top < 1 or self.k < 1:
            raise ConfigError(f"--top and --k must be >= 1, got top={self.top}, k={self.k}.")
        if self.fewshot_c <= 0:
            raise ConfigError(f"--fewshot-c must be > 0, got {self.fewshot_c}.")


def _check_scores(transfer: pd.DataFrame, path: str, task: str) -> None:
    """Raise :class:`DataError` naming ``path`` and its 'value' column when ``task`` has no finite score."""
    rows = transfer[transfer["task"].astype(str) == str(task)]
    if rows.empty:
        return  # an unknown task is reported (with suggestions) by the selection
    values = pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).any():
        raise DataError(
            f"Column 'value' holds no finite score for task {task!r} ({len(rows)} row(s), all NaN, infinite, "
            "empty or non-numeric). Rerun transfer.run for this task (see its failures.csv), or pass a table "
            "with scores to --transfer.", path=path)


PROG = "python -m analysis.recommend"
DESCRIPTION = "Recommend source languages for a target: predicted transfer and few-shot need."


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`RecommendConfig` (:func:`crossling.cli.config_parser`)."""
    return config_parser(RecommendConfig, prog=PROG, description=DESCRIPTION)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.recommend``."""
    cfg, args = parse_command(RecommendConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())
    if args.dry_run:
        plan = [f"would fit a {cfg.kind} transfer model for task {cfg.task!r} on {cfg.transfer} and {cfg.features}"]
        if cfg.target:
            plan.append(f"would rank the top {cfg.top} sources for target {cfg.target!r}")
        if cfg.evaluate:
            plan.append(f"would evaluate leave-one-target-out NDCG@{cfg.k}")
        if cfg.out:
            plan.append(f"would write {cfg.out}.{{parquet,csv}} and {cfg.out}.config.yaml")
        return print_dry_run(cfg, plan)
    transfer = read_table(cfg.transfer, ("task", "src", "tgt", "metric", "value"))
    _check_scores(transfer, cfg.transfer, cfg.task)
    features = read_table(cfg.features, ("lang_a", "lang_b", "feature", "value"))
    select = {k: v for k, v in (("model", cfg.model), ("metric", cfg.metric), ("regime", cfg.regime),
                                ("layer", cfg.layer)) if v}
    pd.set_option("display.width", 200)
    if cfg.target:
        rec = fit_recommender(transfer, features, task=cfg.task, feature_names=cfg.feature_names or None,
                              kind=cfg.kind, fewshot_c=cfg.fewshot_c, **select)
        table = rec.rank(cfg.target, candidates=cfg.sources or None, score=cfg.score, top=cfg.top)
        print(f"# sources for target {cfg.target!r}, task {cfg.task!r}, model {rec.model} "
              f"({rec.fit.kind}, R2={rec.fit.r2:.3f}, features: {', '.join(rec.fit.features)})")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        if cfg.out:
            write_table(table, cfg.out)
    if cfg.evaluate:
        per, summary = evaluate_ranking(transfer, features, task=cfg.task, k=cfg.k,
                                        feature_names=cfg.feature_names or None, kind=cfg.kind, **select)
        print(f"# leave-one-target-out NDCG@{cfg.k}")
        print(summary.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        if cfg.out:
            write_table(per, f"{cfg.out}_ndcg")
    if cfg.out:
        save_config(cfg, f"{cfg.out}.config.yaml")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
