"""Same units, different languages? Attribution of probes and transfer decisions with captum.

``python -m transfer.attribute units`` - for every (layer, task, language) of an
activation store, fit a probe (the solver of ``python -m probes.train``),
attribute its decisions on the test words to the hidden units with captum
(Integrated Gradients and/or Feature Ablation), aggregate into a per-unit
importance vector (mean ``|attribution|`` of the predicted class over test
words) and keep the top-k units. Then, for every pair of languages, test the
overlap of their top-k sets (Jaccard) and importance vectors (Spearman)
against permutation baselines, and run the causal check: ablate language
A's top-k units in language B's probe and compare the accuracy drop with
ablating random units. Outputs (``--out``, default ``<activations>/attribution``)::

    units.parquet|csv     model, layer, task, lang, probe, method, target, unit, importance, rank
    probes.parquet|csv    model, layer, task, lang, probe, metric (refit_accuracy, <method>_mean_abs_delta),
                          value, n_train, n_test
    pair_features.parquet|csv  lang_a, lang_b, feature (unit_jaccard_k<k>:<task>:<method>@L<layer>, unit_spearman:...),
                          value, source: the overlap as pair features for analysis
    overlap.parquet|csv   model, layer, task, lang_a, lang_b, probe, method, metric, value, p_value,
                          p_adj, p_exact, null_mean, null_sd, k, n_units, n_perm
    ablation.parquet|csv  model, layer, task, lang_a, lang_b, probe, method, metric, value, p_value,
                          p_adj, null_mean, null_sd, k, n_random, mode, n_test
    config.yaml           the resolved configuration
    figures/              overlap-<task>-<method>-k<k>-L<layer>.png, overlap-by-layer-<task>-<method>-k<k>.png,
                          ablation-<task>-<method>-k<k>.png

``python -m transfer.attribute tokens`` - train a transfer model (``head``
regime: a :mod:`transfer.heads` head on a frozen layer; ``finetune`` regime:
:class:`transfer.finetune.TaskModel`) on a source language and attribute its
decisions on chosen parallel examples to the input tokens with captum's
LayerIntegratedGradients on the input embeddings. Outputs::

    token_attributions.parquet|csv   one row per token (see TOKEN_COLUMNS)
    tokens.html                      highlighted text, parallel examples side by side (an HTML fragment)
    config.yaml

See docs/attribution.md.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossling.schemas import ATTRIBUTION_PROBE_COLUMNS, ATTRIBUTION_UNIT_COLUMNS
from crossling.config import Interval
from crossling.errors import ConfigError, DataError
from transfer._attribution_figures import (
    plot_ablation_by_layer,
    plot_overlap_by_layer,
    plot_overlap_heatmap,
    write_attribution_figures,
)
from transfer._attribution_html import (
    TOKEN_COLUMNS,
    TokenAttribution,
    render_token_html,
    token_table,
)
from transfer._attribution_tokens import (
    TokenExplainer,
    explained_word,
    finetune_explainer,
    head_explainer,
    train_finetune_model,
    train_head_model,
)
from transfer._attribution_units import __all__ as _units_all
from transfer._attribution_units import (
    ATTRIBUTION_METHODS,
    OUTPUTS,
    PROBE_FITTERS,
    TARGETS,
    FittedProbe,
    ProbeData,
    ablation_test,
    ablation_tests,
    attribute_units,
    fit_probe,
    jaccard,
    overlap_tests,
    probe_data_from_store,
    top_k_units,
    unit_importance,
)

__all__ = [
    # configs and drivers
    "UnitAttributionConfig",
    "TokenAttributionConfig",
    "unit_attribution_grid",
    "run_units",
    "token_attribution_run",
    "run_tokens",
    "main",
    # unit attribution (re-exported from transfer._attribution_units)
    *_units_all,
    "adjust_pvalues",
    "overlap_pair_features",
    "UNIT_COLUMNS",
    "OVERLAP_COLUMNS",
    "ABLATION_COLUMNS",
    "PROBE_COLUMNS",
    # token attribution
    "TokenAttribution",
    "TOKEN_COLUMNS",
    "TokenExplainer",
    "finetune_explainer",
    "head_explainer",
    "train_head_model",
    "train_finetune_model",
    "explained_word",
    "token_table",
    "render_token_html",
    # figures
    "plot_overlap_heatmap",
    "plot_overlap_by_layer",
    "plot_ablation_by_layer",
    "write_attribution_figures",
]

UNIT_COLUMNS = list(ATTRIBUTION_UNIT_COLUMNS)
PROBE_COLUMNS = list(ATTRIBUTION_PROBE_COLUMNS)
OVERLAP_COLUMNS = ["model", "layer", "task", "lang_a", "lang_b", "probe", "method", "metric", "value", "p_value",
                   "p_adj", "p_exact", "null_mean", "null_sd", "k", "n_units", "n_perm"]
ABLATION_COLUMNS = ["model", "layer", "task", "lang_a", "lang_b", "probe", "method", "metric", "value", "p_value",
                    "p_adj", "null_mean", "null_sd", "k", "n_random", "mode", "n_test"]


# --------------------------------------------------------------------------- configs


@dataclass
class UnitAttributionConfig:
    """Configuration of ``python -m transfer.attribute units`` (YAML keys = field names).

    Attributes
    ----------
    activations : str
        Activation store (``python -m probes.extract --out``).
    out : str or None
        Output directory (default ``<activations>/attribution``).
    tasks : list of str
        Word-level classification probe tasks (``upos``, ``deprel``, ``morph:Number``, ...).
    layers : str
        ``all`` or e.g. ``0,6,12`` / ``4-8``.
    langs : list of str
        Languages (default: every language of the store).
    probe : str
        ``linear`` (default) or ``mlp`` (:data:`PROBE_FITTERS`).
    methods : list of str
        Attribution methods (:data:`ATTRIBUTION_METHODS`).
    target : str
        ``predicted`` (default) or ``gold``: the class explained per word.
    output : str
        Attributed probe output: ``log_prob`` (default), ``prob``, ``logit``.
    k : list of int
        Sizes of the top-k unit sets (every overlap and ablation is run for each).
    n_perm : int
        Permutation draws of the overlap baselines.
    n_random : int
        Random unit sets of the ablation baseline.
    ablation : str
        ``mean`` (replace by the training mean) or ``zero``.
    ig_steps : int
        Integrated-gradient steps.
    max_attr_words : int or None
        Attribute at most this many test words per cell (a fixed random
        subset); ablation always uses every test word.
    C, max_iter : float, int
        Logistic probe settings (as in ``probes.train``).
    split : list of float
        Train/dev/test fractions of sentences (``probes.train.split_of``).
    min_examples : int
        Skip cells with fewer labelled training words.
    seed : int
    figures : bool
    threads : int or None
        Torch threads.
    """

    activations: str = ""
    out: str | None = None
    tasks: list[str] = field(default_factory=lambda: ["upos"])
    layers: str = "all"
    langs: list[str] = field(default_factory=list)
    probe: str = "linear"
    methods: list[str] = field(default_factory=lambda: ["integrated_gradients"])
    target: str = "predicted"
    output: str = "log_prob"
    k: list[int] = field(default_factory=lambda: [20])
    n_perm: int = 1000
    n_random: int = 50
    ablation: str = "mean"
    ig_steps: int = 32
    max_attr_words: int | None = 2000
    C: float = 1.0
    max_iter: int = 100
    split: list[float] = field(default_factory=lambda: [0.7, 0.1, 0.2])
    min_examples: int = 100
    seed: int = 0
    figures: bool = True
    threads: int | None = None

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "k": [Interval("int", 1, None)],
        "n_perm": [Interval("int", 0, 10**7)],
        "n_random": [Interval("int", 0, 10**6)],
        "ig_steps": [Interval("int", 2, 10**5)],
        "max_attr_words": [Interval("int", 1, None), None],
        "C": [Interval("real", 0, None, closed="neither")],
        "max_iter": [Interval("int", 1, 10**7)],
        "split": [Interval("real", 0, 1)],
        "min_examples": [Interval("int", 1, None)],
        "seed": [Interval("int", 0, 2**32 - 1)],
        "threads": [Interval("int", 1, 4096), None],
    }
    _parameter_each = ('k', 'split')

    def validate(self) -> None:
        if not self.activations:
            raise ConfigError("No activation store given: pass --activations DIR (a python -m probes.extract output).")
        PROBE_FITTERS.get(self.probe)
        if not self.methods:
            raise ConfigError("methods is empty; use e.g. --methods integrated_gradients,feature_ablation.")
        for m in self.methods:
            ATTRIBUTION_METHODS.get(m)
        if self.target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}, got {self.target!r}.")
        if self.output not in OUTPUTS:
            raise ConfigError(f"output must be one of {OUTPUTS}, got {self.output!r}.")
        if self.ablation not in ("mean", "zero"):
            raise ConfigError(f"ablation must be 'mean' or 'zero', got {self.ablation!r}.")
        if not self.k or min(self.k) < 1:
            raise ConfigError(f"k must be one or more sizes >= 1, got {self.k}.")
        for name in ("n_perm", "n_random", "ig_steps", "max_iter", "min_examples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.max_attr_words is not None and self.max_attr_words < 1:
            raise ConfigError(f"max_attr_words must be >= 1 or none, got {self.max_attr_words}.")
        if not self.C > 0:
            raise ConfigError(f"C must be > 0, got {self.C}.")
        if len(self.split) != 3 or min(self.split) < 0 or self.split[0] <= 0 or self.split[2] <= 0 \
                or abs(sum(self.split) - 1.0) > 1e-6:
            raise ConfigError(f"split must be three fractions train,dev,test summing to 1, got {self.split}.")
        if not self.tasks:
            raise ConfigError("No task given; pass e.g. --tasks upos,morph:Number.")
        from probes.tasks import get_task

        for name in self.tasks:
            t = get_task(name)
            if t.kind != "classification" or t.level != "word":
                raise ConfigError(f"Unit attribution needs word-level classification tasks; {name!r} is "
                                  f"{t.level}-level {t.kind}. Use e.g. upos, deprel or morph:Number.")


@dataclass
class TokenAttributionConfig:
    """Configuration of ``python -m transfer.attribute tokens`` (YAML keys = field names).

    Attributes
    ----------
    model : str
        Model spec (:func:`probes.models.load_model`), e.g. a checkpoint directory.
    regime : str
        ``head`` (frozen encoder + head on ``layer``) or ``finetune``.
    task : str
        Downstream task (:data:`transfer.tasks.TASKS`): ``pos``, ``ner`` (token), ``nli``, ``paws`` (pair).
    corpus : str
        Where examples come from: a :mod:`probes.readers.corpora` corpus (``sample``,
        ``pud``; token tasks) or ``xtreme`` (the task's pools in ``data_dir``).
    data_dir : str or None
        Data directory (default ``$CROSSLING_DATA`` or ``../shared/data``).
    src : str
        Language the model is trained on.
    langs : list of str
        Languages whose examples are explained (default: ``src`` only).
    examples : list of str
        Ids of the explained (parallel) examples; default the first
        ``n_examples`` ids present in every language.
    n_examples : int
    layer : str
        Head regime: a layer number, ``last`` or ``mix``.
    head : str
        Head regime: a :data:`transfer.heads.HEADS` name.
    finetune : dict
        Finetune regime options (:data:`transfer.finetune.FINETUNE_DEFAULTS`).
    train_cap : int or None
        At most this many training examples of ``src``.
    word_label : str or None
        Token tasks: explain the first word with this gold label (e.g. ``VERB``);
        default the sentence's root, else its first word.
    target : str
        ``predicted`` or ``gold``.
    n_steps : int
        Integration steps.
    level : str
        ``word`` or ``token`` shading in the HTML.
    max_length : int
    prefix : str
    seed : int
    out : str
    """

    model: str = ""
    regime: str = "head"
    task: str = "pos"
    corpus: str = "sample"
    data_dir: str | None = None
    src: str = "en"
    langs: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    n_examples: int = 3
    layer: str = "last"
    head: str = "softmax"
    finetune: dict[str, Any] = field(default_factory=dict)
    train_cap: int | None = None
    word_label: str | None = None
    target: str = "predicted"
    n_steps: int = 50
    level: str = "word"
    max_length: int = 128
    prefix: str = ""
    seed: int = 0
    out: str = ""

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "n_examples": [Interval("int", 1, None)],
        "train_cap": [Interval("int", 1, None), None],
        "n_steps": [Interval("int", 2, 10**5)],
        "max_length": [Interval("int", 4, None)],
        "seed": [Interval("int", 0, 2**32 - 1)],
    }

    def validate(self) -> None:
        from transfer.heads import HEADS
        from transfer.tasks import TASKS

        if not self.model:
            raise ConfigError("No model given: pass --model SPEC (a checkpoint directory or a model spec).")
        if not self.out:
            raise ConfigError("No output directory given: pass --out DIR.")
        if self.regime not in ("head", "finetune"):
            raise ConfigError(f"regime must be 'head' or 'finetune', got {self.regime!r}.")
        TASKS.get(self.task)
        HEADS.get(self.head)
        if self.target not in ("predicted", "gold"):
            raise ConfigError(f"target must be 'predicted' or 'gold', got {self.target!r}.")
        if self.level not in ("word", "token"):
            raise ConfigError(f"level must be 'word' or 'token', got {self.level!r}.")
        for name in ("n_examples", "max_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.n_steps < 2:
            raise ConfigError(f"n_steps must be >= 2, got {self.n_steps}.")
        if self.train_cap is not None and self.train_cap < 1:
            raise ConfigError(f"train_cap must be >= 1 or none, got {self.train_cap}.")
        s = str(self.layer).strip().lower()
        if s not in ("last", "mix") and not s.lstrip("-").isdigit():
            raise ConfigError(f"layer must be a layer number, 'last' or 'mix', got {self.layer!r}.")


# --------------------------------------------------------------------------- unit attribution grid


def adjust_pvalues(df: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Benjamini-Hochberg adjusted p-values within groups ``by`` (NaN p-values stay NaN)."""
    from statsmodels.stats.multitest import multipletests

    out = pd.Series(np.nan, index=df.index, dtype=float)
    if df.empty:
        return out
    for _, d in df.groupby(list(by), dropna=False):
        p = d["p_value"].to_numpy(dtype=float)
        ok = np.isfinite(p)
        if ok.any():
            adj = np.full(len(p), np.nan)
            adj[ok] = multipletests(p[ok], method="fdr_bh")[1]
            out.loc[d.index] = adj
    return out


def overlap_pair_features(overlap: pd.DataFrame) -> pd.DataFrame:
    """The overlap table as pair features for :mod:`analysis` (``lang_a, lang_b, feature, value, source``).

    Feature names are ``unit_jaccard_k<k>:<task>:<method>@L<layer>`` and
    ``unit_spearman:<task>:<method>@L<layer>`` (the ``@L`` suffix marks a
    per-layer model-internal feature, as ``cka@L6``); ``source`` is
    ``attribution:<model>``.
    """
    cols = ["lang_a", "lang_b", "feature", "value", "source"]
    if overlap.empty:
        return pd.DataFrame(columns=cols)
    ov = overlap
    base = np.where(ov["metric"] == "topk_jaccard", "unit_jaccard_k" + ov["k"].astype(int).astype(str),
                    np.where(ov["metric"] == "importance_spearman", "unit_spearman", ov["metric"].astype(str)))
    feat = (pd.Series(base, index=ov.index) + ":" + ov["task"].astype(str) + ":" + ov["method"].astype(str)
            + "@L" + ov["layer"].astype(int).astype(str))
    out = pd.DataFrame({"lang_a": ov["lang_a"], "lang_b": ov["lang_b"], "feature": feat,
                        "value": ov["value"].astype(float), "source": "attribution:" + ov["model"].astype(str)},
                       columns=cols)
    # Spearman does not depend on k: one row per pair and layer
    return out.drop_duplicates(["lang_a", "lang_b", "feature", "source"], ignore_index=True)


def _log(msg: str, progress: bool) -> None:
    if progress:
        import sys

        print(msg, file=sys.stderr, flush=True)


def unit_attribution_grid(cfg: UnitAttributionConfig, *, progress: bool = False) -> dict[str, pd.DataFrame]:
    """Run unit attribution, overlap tests and ablations over the grid of ``cfg``.

    Returns
    -------
    dict of str to DataFrame
        ``units`` (:data:`UNIT_COLUMNS`), ``probes`` (:data:`PROBE_COLUMNS`),
        ``overlap`` (:data:`OVERLAP_COLUMNS`), ``ablation`` (:data:`ABLATION_COLUMNS`),
        ``pair_features`` (:func:`overlap_pair_features`) and ``skipped`` (cells without enough data). ``p_adj`` is corrected
        (Benjamini-Hochberg) over layers and language pairs within each
        (model, task, probe, method, metric, k).
    """
    from crossling.layers import parse_layers
    from probes.extraction.store import ActivationStore
    from probes.tasks import get_task, sentences_from_index

    if cfg.threads:
        import torch

        torch.set_num_threads(int(cfg.threads))
    store = ActivationStore(cfg.activations)
    langs = list(cfg.langs) or store.languages
    for lang in langs:
        store.check(lang)
    layers = store.layers if cfg.layers == "all" else parse_layers(cfg.layers, max(store.layers))
    for layer in layers:
        store.check(layer=layer)
    if max(cfg.k) >= store.dim:
        raise ConfigError(f"k={max(cfg.k)} is not below the {store.dim} hidden units of {store.model!r}; "
                          f"choose k < {store.dim}.")
    tasks = [get_task(t) for t in cfg.tasks]
    sents = {lang: sentences_from_index(store.word_index(lang), lang) for lang in langs}
    model = store.model
    units_rows: list[tuple[Any, ...]] = []
    probe_rows: list[tuple[Any, ...]] = []
    ov_rows: list[dict[str, Any]] = []
    ab_rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for layer in layers:
        for task in tasks:
            tname = task.task_name
            fits: dict[str, tuple[FittedProbe, np.ndarray, np.ndarray]] = {}
            imps: dict[tuple[str, str], np.ndarray] = {}
            for lang in langs:
                t0 = time.perf_counter()
                data = probe_data_from_store(store, lang, layer, task, split=cfg.split, seed=cfg.seed,
                                             sentences=sents[lang])
                if len(data.y_train) < cfg.min_examples or len(data.y_test) == 0 or len(data.classes) < 2:
                    skipped.append({"model": model, "layer": layer, "task": tname, "lang": lang,
                                    "reason": f"{len(data.y_train)} training words ({len(data.classes)} classes), "
                                              f"{len(data.y_test)} test words"})
                    continue
                probe = fit_probe(data, cfg.probe, C=cfg.C, max_iter=cfg.max_iter, seed=cfg.seed)
                Zte = probe.standardise(data.X_test)
                fits[lang] = (probe, Zte, data.y_test)
                acc = float((probe.predict(Zte) == data.y_test).mean())
                n_tr, n_te = len(data.y_train), len(data.y_test)
                probe_rows.append((model, layer, tname, lang, cfg.probe, "refit_accuracy", acc, n_tr, n_te))
                sel = np.arange(n_te)
                if cfg.max_attr_words is not None and n_te > cfg.max_attr_words:
                    sel = np.sort(np.random.default_rng(cfg.seed).choice(n_te, cfg.max_attr_words, replace=False))
                for method in cfg.methods:
                    imp, info = unit_importance(probe, Zte[sel], data.y_test[sel], method=method, target=cfg.target,
                                                output=cfg.output, n_steps=cfg.ig_steps)
                    imps[(lang, method)] = imp
                    order = np.argsort(-imp, kind="stable")
                    rank = np.empty(len(imp), dtype=np.int64)
                    rank[order] = np.arange(1, len(imp) + 1)
                    units_rows.extend((model, layer, tname, lang, cfg.probe, method, cfg.target, u, float(imp[u]),
                                       int(rank[u])) for u in range(len(imp)))
                    if "mean_abs_delta" in info:
                        probe_rows.append((model, layer, tname, lang, cfg.probe, f"{method}_mean_abs_delta",
                                           info["mean_abs_delta"], n_tr, int(info["n_words"])))
                _log(f"layer {layer} {tname} {lang}: accuracy {acc:.3f} ({time.perf_counter() - t0:.1f}s)", progress)
            done = list(fits)
            for method in cfg.methods:
                for k in cfg.k:
                    for a, b in combinations(done, 2):
                        for r in overlap_tests(imps[(a, method)], imps[(b, method)], k, n_perm=cfg.n_perm,
                                               seed=cfg.seed):
                            ov_rows.append({"model": model, "layer": layer, "task": tname, "lang_a": a,
                                            "lang_b": b, "probe": cfg.probe, "method": method, **r, "k": k,
                                            "n_units": store.dim, "n_perm": cfg.n_perm})
                for b in done:
                    probe_b, Zb, yb = fits[b]
                    pairs = [(k, a) for k in cfg.k for a in done]
                    results = ablation_tests(probe_b, Zb, yb, [top_k_units(imps[(a, method)], k) for k, a in pairs],
                                             mode=cfg.ablation, n_random=cfg.n_random, seed=cfg.seed)
                    for (k, a), res in zip(pairs, results):
                        common = {"model": model, "layer": layer, "task": tname, "lang_a": a, "lang_b": b,
                                  "probe": cfg.probe, "method": method, "k": k, "n_random": cfg.n_random,
                                  "mode": cfg.ablation, "n_test": len(yb)}
                        ab_rows.append({**common, "metric": "ablation_drop", "value": res["drop"],
                                        "p_value": res["p_value"], "null_mean": res["null_mean"],
                                        "null_sd": res["null_sd"]})
                        ab_rows.append({**common, "metric": "accuracy_ablated", "value": res["accuracy_ablated"],
                                        "p_value": np.nan, "null_mean": np.nan, "null_sd": np.nan})
    overlap = pd.DataFrame(ov_rows, columns=[c for c in OVERLAP_COLUMNS if c != "p_adj"])
    overlap["p_adj"] = adjust_pvalues(overlap, ["model", "task", "probe", "method", "metric", "k"])
    ablation = pd.DataFrame(ab_rows, columns=[c for c in ABLATION_COLUMNS if c != "p_adj"])
    ablation["p_adj"] = adjust_pvalues(ablation, ["model", "task", "probe", "method", "metric", "k"])
    return {
        "units": pd.DataFrame(units_rows, columns=UNIT_COLUMNS),
        "pair_features": overlap_pair_features(overlap),
        "probes": pd.DataFrame(probe_rows, columns=PROBE_COLUMNS),
        "overlap": overlap[OVERLAP_COLUMNS],
        "ablation": ablation[ABLATION_COLUMNS],
        "skipped": pd.DataFrame(skipped, columns=["model", "layer", "task", "lang", "reason"]),
    }


def run_units(cfg: UnitAttributionConfig, *, progress: bool = False) -> dict[str, Path]:
    """Run :func:`unit_attribution_grid` and write its tables, config and figures to ``cfg.out``.

    Returns
    -------
    dict of str to Path
        The written Parquet tables by name (plus ``figures`` when drawn).
    """
    from crossling.config import save_config
    from crossling.io import DirLock
    from crossling.tables import write_table

    out = Path(cfg.out) if cfg.out else Path(cfg.activations) / "attribution"
    cfg.out = str(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with DirLock(out):
        tables = unit_attribution_grid(cfg, progress=progress)
        for name, df in tables.items():
            written[name] = write_table(df, out / name)[0]
        save_config(cfg, out / "config.yaml")
        if cfg.figures and len(tables["overlap"]) + len(tables["ablation"]):
            write_attribution_figures(tables["overlap"], tables["ablation"], out / "figures")
            written["figures"] = out / "figures"
    return written


# --------------------------------------------------------------------------- token attribution run


def _examples(cfg: TokenAttributionConfig) -> tuple[list[Any], dict[str, list[Any]]]:
    """(training examples of src, explained examples per language)."""
    from transfer.tasks import get_task

    task = get_task(cfg.task)
    langs = list(dict.fromkeys(cfg.langs or [cfg.src]))
    if cfg.corpus == "xtreme":
        from crossling.paths import resolve_data_dir

        data_dir = str(resolve_data_dir(cfg.data_dir))
        pools = {lang: task.pools(data_dir, lang, split_seed=cfg.seed) for lang in set(langs) | {cfg.src}}
        train = list(pools[cfg.src].train)
        shown = {lang: list(pools[lang].test) for lang in langs}
    else:
        if task.kind == "pair":
            raise ConfigError(f"Task {cfg.task!r} is a pair task; its examples come from --corpus xtreme.")
        from probes.readers.corpora import load_corpus

        corpus = load_corpus(cfg.corpus, cfg.data_dir, langs=sorted(set(langs) | {cfg.src}))
        shown = {lang: list(corpus.sentences[lang]) for lang in langs}
        train = list(corpus.sentences[cfg.src])
    id_sets = {lang: {s.sent_id for s in shown[lang]} for lang in langs}
    ids_common = [s.sent_id for s in shown[langs[0]] if all(s.sent_id in id_sets[lang] for lang in langs[1:])]
    if cfg.examples:
        missing = {lang: [e for e in cfg.examples if e not in id_sets[lang]] for lang in langs}
        missing = {k: v for k, v in missing.items() if v}
        if missing:
            raise ConfigError(f"Example id(s) not found: {missing}. Available ids start with {ids_common[:5]}.")
        chosen = list(cfg.examples)
    else:
        if not ids_common:
            raise DataError(f"No example id is shared by languages {langs} of corpus {cfg.corpus!r}; "
                            "pass --examples ID,... per language or use a parallel corpus.")
        chosen = ids_common[: cfg.n_examples]
    held_out = set(chosen)
    train = [s for s in train if s.sent_id not in held_out]
    if cfg.train_cap is not None:
        train = train[: cfg.train_cap]
    if not train:
        raise DataError(f"No training example left for {cfg.src!r} after holding out the explained examples.")
    by_id = {lang: {s.sent_id: s for s in shown[lang]} for lang in langs}
    return train, {lang: [by_id[lang][e] for e in chosen] for lang in langs}


def token_attribution_run(cfg: TokenAttributionConfig, *, loaded: Any = None) -> list[TokenAttribution]:
    """Train the transfer model of ``cfg`` on ``src`` and explain the chosen examples in every language.

    Parameters
    ----------
    cfg : TokenAttributionConfig
    loaded : probes.models.LoadedModel, optional
        An already loaded model (default: ``load_model(cfg.model)``).

    Returns
    -------
    list of TokenAttribution
        Grouped by example id (parallel examples share ``group``).
    """
    from crossling.layers import LayerCapture
    from probes.models import load_model
    from transfer.tasks import get_task

    task = get_task(cfg.task)
    train, shown = _examples(cfg)
    loaded = loaded if loaded is not None else load_model(cfg.model, seed=cfg.seed)
    if cfg.regime == "head":
        n_blocks = len(LayerCapture(loaded, [0]).blocks)
        spec = str(cfg.layer).strip().lower()
        layer: int | str = n_blocks if spec == "last" else ("mix" if spec == "mix" else int(spec))
        if isinstance(layer, int) and layer < 0:
            layer = n_blocks + 1 + layer
        if isinstance(layer, int) and not 0 <= layer <= n_blocks:
            raise ConfigError(f"layer {cfg.layer!r} is out of range for {loaded.name!r} (0..{n_blocks}, last, mix).")
        head = train_head_model(loaded, task, train, layer, head=cfg.head, seed=cfg.seed, prefix=cfg.prefix,
                                max_length=cfg.max_length)
        ex = head_explainer(loaded, head, task, layer, prefix=cfg.prefix, max_length=cfg.max_length)
    else:
        tm = train_finetune_model(loaded, task, train, seed=cfg.seed,
                                  options={"max_length": cfg.max_length, "prefix": cfg.prefix, **cfg.finetune})
        ex = finetune_explainer(tm, model=loaded.name)
    out: list[TokenAttribution] = []
    for i in range(len(next(iter(shown.values())))):
        for sents in shown.values():
            s = sents[i]
            unit = explained_word(s, cfg.word_label, task.label_field) if task.kind == "token" else None
            out.append(ex.explain(s, unit=unit, target=cfg.target, n_steps=cfg.n_steps,
                                  group=s.sent_id))
    return out


def run_tokens(cfg: TokenAttributionConfig, *, loaded: Any = None) -> dict[str, Path]:
    """Run :func:`token_attribution_run` and write the token table, ``tokens.html`` and the config."""
    from crossling.config import save_config
    from crossling.io import DirLock, atomic_write_text
    from crossling.tables import write_table

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    with DirLock(out):
        attrs = token_attribution_run(cfg, loaded=loaded)
        table = token_table(attrs)
        pq = write_table(table, out / "token_attributions")[0]
        html_path = out / "tokens.html"
        atomic_write_text(html_path, render_token_html(
            attrs, level=cfg.level, title=f"Token attributions: {cfg.task}, {cfg.regime} regime, trained on {cfg.src}"))
        save_config(cfg, out / "config.yaml")
    return {"token_attributions": pq, "html": html_path}


# --------------------------------------------------------------------------- CLI


def build_parser() -> Any:
    """The argument parser of ``python -m transfer.attribute``."""
    from crossling.cli import SuiteArgumentParser

    p = SuiteArgumentParser(prog="python -m transfer.attribute",
                            description="Attribution of probes to hidden units (units) and of transfer models "
                                        "to input tokens (tokens) with captum.")
    sub = p.add_subparsers(dest="command", metavar="{units,tokens}")
    u = sub.add_parser("units", help="unit attribution of probes, cross-lingual overlap, ablation")
    u.add_argument("--config", help="YAML config (keys = UnitAttributionConfig fields); flags override it")
    u.add_argument("--activations", help="activation store directory")
    u.add_argument("--out", help="output directory (default <activations>/attribution)")
    u.add_argument("--tasks", help="comma-separated word-level classification tasks (default upos)")
    u.add_argument("--layers", "--layer", dest="layers", help="all (default) or e.g. 0,6,12 / 4-8")
    u.add_argument("--langs", help="comma-separated languages (default: all in the store)")
    u.add_argument("--probe", help="linear (default) or mlp")
    u.add_argument("--methods", help="integrated_gradients (default), feature_ablation, or both comma-separated")
    u.add_argument("--target", help="predicted (default) or gold")
    u.add_argument("--output", help="log_prob (default), prob or logit")
    u.add_argument("--k", help="top-k unit set size(s), e.g. 20 or 10,50 (default 20)")
    u.add_argument("--n-perm", type=int, help="permutation draws (default 1000)")
    u.add_argument("--n-random", type=int, help="random ablation draws (default 50)")
    u.add_argument("--ablation", help="mean (default) or zero")
    u.add_argument("--ig-steps", type=int, help="integrated-gradient steps (default 32)")
    u.add_argument("--max-attr-words", help="attribute at most this many test words per cell (default 2000; none)")
    u.add_argument("--C", dest="C", type=float, help="logistic C (default 1.0)")
    u.add_argument("--seed", type=int)
    u.add_argument("--min-examples", type=int, help="minimum labelled training words (default 100)")
    u.add_argument("--no-figures", dest="figures", action="store_const", const=False, help="skip figures")
    u.add_argument("--threads", type=int, help="torch threads")
    u.add_argument("--quiet", action="store_true", help="no progress lines")
    u.add_argument("--debug", action="store_true", help="show tracebacks")
    t = sub.add_parser("tokens", help="token attributions of a transfer model, as highlighted HTML")
    t.add_argument("--config", help="YAML config (keys = TokenAttributionConfig fields); flags override it")
    t.add_argument("--model", help="model spec or checkpoint directory")
    t.add_argument("--regime", help="head (default) or finetune")
    t.add_argument("--task", help="pos (default), ner, nli, paws")
    t.add_argument("--corpus", help="sample (default), pud, ... or xtreme (task pools)")
    t.add_argument("--data-dir", help="data directory")
    t.add_argument("--src", help="training language (default en)")
    t.add_argument("--langs", help="languages of the explained examples (default: src)")
    t.add_argument("--examples", help="comma-separated example ids (default: the first --n-examples shared ids)")
    t.add_argument("--n-examples", type=int)
    t.add_argument("--layer", help="head regime: layer number, last (default) or mix")
    t.add_argument("--head", help="head regime: softmax (default) or ridge")
    t.add_argument("--epochs", type=int, help="finetune regime: epochs (default 3)")
    t.add_argument("--train-cap", type=int, help="at most this many training examples")
    t.add_argument("--word-label", help="explain the first word with this gold label (default: the root)")
    t.add_argument("--target", help="predicted (default) or gold")
    t.add_argument("--n-steps", type=int, help="integration steps (default 50)")
    t.add_argument("--level", help="word (default) or token shading")
    t.add_argument("--max-length", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--out", help="output directory")
    t.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m transfer.attribute``."""
    from crossling.config import load_config

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        raise ConfigError("python -m transfer.attribute needs a command: 'units' or 'tokens'. "
                          "Run 'python -m transfer.attribute --help' for the options.")
    skip = ("config", "quiet", "debug", "command", "epochs")
    over = {k: v for k, v in vars(args).items() if k not in skip and v is not None}
    t0 = time.time()
    if args.command == "units":
        cfg = load_config(UnitAttributionConfig, args.config, over)
        written = run_units(cfg, progress=not args.quiet)
        ov = pd.read_parquet(written["overlap"])
        sig = int((ov["p_adj"] < 0.05).sum()) if len(ov) else 0
        print(f"wrote {cfg.out}: {len(ov)} overlap rows ({sig} with p_adj < 0.05), "
              f"{len(pd.read_parquet(written['ablation']))} ablation rows, {time.time() - t0:.1f}s")
        return 0
    cfg_t = load_config(TokenAttributionConfig, args.config, over)
    if args.epochs is not None:
        cfg_t.finetune = {**cfg_t.finetune, "epochs": int(args.epochs)}
    written = run_tokens(cfg_t)
    print(f"wrote {written['html']} and {written['token_attributions']} ({time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    from crossling.cli import run_main

    raise SystemExit(run_main(main))
