"""Simulated tidy tables with planted structure for the analysis tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

LANGS = ["en", "de", "fr", "es", "ru", "zh", "ar", "hi", "sw", "fi"]

# true effect of one unit of each raw feature on the transfer score
TRUE_COEF = {"lex_sim": 0.08, "syntax_dist": -0.06, "phon_dist": -0.015, "log_tokens_src": 0.03}


def simulate(n_langs: int = 10, coef: dict | None = None, noise: float = 0.01, src_sd: float = 0.0,
             tgt_sd: float = 0.0, seed: int = 0, tasks=("xnli",), seeds: int = 2, extra_langs: int = 0):
    """Transfer + pair-feature tables where score = 0.5 + sum(coef * feature) + effects + noise.

    Returns (transfer, features, truth) where truth is a dict of raw coefficients and the
    per-pair noiseless score table.
    """
    coef = dict(TRUE_COEF if coef is None else coef)
    rng = np.random.default_rng(seed)
    names = [f"l{i}" for i in range(n_langs + extra_langs)]
    names[: min(len(LANGS), n_langs)] = LANGS[: min(len(LANGS), n_langs)]
    lat = {f: rng.normal(size=(len(names), 3)) for f in ("lex", "syn", "phon", "geo")}
    size = rng.normal(3, 1.5, size=len(names))
    frows = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if j <= i:
                continue
            frows.append((a, b, "lex_sim", -float(np.linalg.norm(lat["lex"][i] - lat["lex"][j])), "sim"))
            frows.append((a, b, "syntax_dist", float(np.linalg.norm(lat["syn"][i] - lat["syn"][j])), "sim"))
            frows.append((a, b, "phon_dist", float(np.linalg.norm(lat["phon"][i] - lat["phon"][j])), "sim"))
            frows.append((a, b, "geo_dist", float(np.linalg.norm(lat["geo"][i] - lat["geo"][j])), "sim"))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i != j:
                frows.append((a, b, "log_tokens_src", float(size[i]), "sim"))
                frows.append((a, b, "log_tokens_tgt", float(size[j]), "sim"))
    features = pd.DataFrame(frows, columns=["lang_a", "lang_b", "feature", "value", "source"])
    from analysis._frames import features_wide

    wide = features_wide(features)
    u = dict(zip(names, rng.normal(0, src_sd, len(names)) if src_sd else np.zeros(len(names))))
    v = dict(zip(names, rng.normal(0, tgt_sd, len(names)) if tgt_sd else np.zeros(len(names))))
    exp_langs = names[:n_langs]
    wide = wide[wide["src"].isin(exp_langs) & wide["tgt"].isin(exp_langs)].reset_index(drop=True)
    mean = 0.5 + sum(c * wide[f] for f, c in coef.items())
    mean = mean + wide["src"].map(u) + wide["tgt"].map(v)
    rows = []
    for t_i, task in enumerate(tasks):
        for s in range(seeds):
            val = mean + 0.05 * t_i + rng.normal(0, noise, len(wide))
            for (src, tgt), y in zip(wide[["src", "tgt"]].itertuples(index=False), val):
                rows.append(("sim-model", "zero-shot", 12, task, src, tgt, 0, s, "accuracy", float(y), 1000, 500))
    transfer = pd.DataFrame(rows, columns=["model", "regime", "layer", "task", "src", "tgt", "k", "seed", "metric",
                                           "value", "n_train", "n_test"])
    truth = wide.assign(true_score=mean)
    return transfer, features, {"coef": coef, "pairs": truth, "langs": names}


def simulate_alignment(features: pd.DataFrame, feature: str = "syntax_dist", layers=range(5), strong=(3, 4),
                       seed: int = 0, metric: str = "cka") -> pd.DataFrame:
    """Alignment table whose similarity tracks ``feature`` at the ``strong`` layers only."""
    rng = np.random.default_rng(seed)
    f = features[features["feature"] == feature]
    rows = []
    for layer in layers:
        w = 0.1 if layer in strong else 0.0
        for a, b, v in f[["lang_a", "lang_b", "value"]].itertuples(index=False):
            val = 0.8 - w * v + rng.normal(0, 0.02)
            rows.append(("sim-model", layer, a, b, metric, val, val - 0.01, val + 0.01, 0.01, 1000))
    return pd.DataFrame(rows, columns=["model", "layer", "lang_a", "lang_b", "metric", "value", "ci_low", "ci_high",
                                       "p_value", "n"])


def simulate_fewshot(a: float = 0.4, b: float = 0.05, c: float = 1.0, ks=(0, 10, 30, 100, 300, 1000),
                     targets=("de", "sw", "zh"), noise: float = 0.005, seeds: int = 3, seed: int = 0) -> pd.DataFrame:
    """Few-shot transfer rows from en with score = a_t + b_t log(k + c) + noise; a_t, b_t vary by target."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, t in enumerate(targets):
        at, bt = a + 0.05 * i, b * (1 + 0.2 * i)
        for k in ks:
            for s in range(seeds):
                y = at + bt * np.log(k + c) + rng.normal(0, noise)
                rows.append(("sim-model", "zero-shot" if k == 0 else "few-shot", 12, "xnli", "en", t, k, s,
                             "accuracy", float(y), 1000 + k, 500))
    return pd.DataFrame(rows, columns=["model", "regime", "layer", "task", "src", "tgt", "k", "seed", "metric",
                                       "value", "n_train", "n_test"])


def simulate_probes(langs=("en", "de", "sw"), layers=range(5), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for lang in langs:
        for layer in layers:
            v = 0.6 + 0.08 * layer - 0.012 * layer ** 2 + rng.normal(0, 0.01)
            rows.append(("sim-model", layer, lang, "upos", "linear", "accuracy", v, 800, 200, lang, lang))
            rows.append(("sim-model", layer, lang, "upos", "linear", "accuracy", v - 0.1, 800, 200, "en", lang))
    return pd.DataFrame(rows, columns=["model", "layer", "lang", "task", "probe", "metric", "value", "n_train",
                                       "n_test", "train_lang", "test_lang"])


def make_run(root, *, with_features: bool = True):
    """A run directory with transfer (zero- and few-shot), alignment, probe and pair-feature tables."""
    from pathlib import Path

    from crossling.tables import write_table

    root = Path(root)
    transfer, features, truth = simulate(noise=0.005, tasks=("xnli", "pawsx"))
    fs = simulate_fewshot()
    replaced = (transfer["src"] == "en") & transfer["tgt"].isin(["de", "sw", "zh"]) & (transfer["task"] == "xnli")
    zero = transfer[~replaced]
    (root / "transfer").mkdir(parents=True, exist_ok=True)
    write_table(pd.concat([zero, fs[fs["k"] > 0], fs[fs["k"] == 0]], ignore_index=True), root / "transfer" / "transfer")
    (root / "transfer" / "config.yaml").write_text("model: sim-model\ntasks: [xnli, pawsx]\n")
    (root / "align").mkdir(exist_ok=True)
    write_table(simulate_alignment(features), root / "align" / "alignment")
    (root / "probes").mkdir(exist_ok=True)
    write_table(simulate_probes(), root / "probes" / "probes")
    if with_features:
        (root / "typology").mkdir(exist_ok=True)
        write_table(features, root / "typology" / "pair_features")
    return root


@pytest.fixture(scope="session")
def sim():
    """The simulators above, as a namespace (test modules cannot import conftest under importlib mode)."""
    import types

    return types.SimpleNamespace(simulate=simulate, simulate_alignment=simulate_alignment,
                                 simulate_fewshot=simulate_fewshot, simulate_probes=simulate_probes,
                                 make_run=make_run, TRUE_COEF=TRUE_COEF, LANGS=LANGS)


@pytest.fixture(scope="session")
def chromium():
    """The headless Chromium binary. Missing where apt could install it: a failure (.ci/run installs it)."""
    import shutil

    from analysis.render_check import chromium_binary

    exe = chromium_binary()
    if exe is None:
        if shutil.which("apt-get"):
            pytest.fail("No Chromium on PATH but apt-get is available: install it (apt-get install -y chromium; "
                        ".ci/run does this) so that the report is checked as a reader sees it.")
        pytest.skip("No Chromium and no apt-get on this machine: the rendered report cannot be checked here.")
    return exe
