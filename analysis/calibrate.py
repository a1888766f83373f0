"""Calibration of the transfer tests by simulation: size under three nulls, power under planted effects.

``python -m analysis.calibrate`` (or :func:`calibrate`) simulates transfer
tables for a language list (default: the study's ten transfer languages of
configs/transfer-xtreme.yaml, and the 16 PUD languages), runs every test the
report uses on each table and writes the rejection rates as one tidy table
(size: rejection rate under a null with its Monte-Carlo SE; power: under a
planted effect), plus docs/calibration.md and a figure generated from it.

Simulated pair features (redrawn for every table): each language has a latent
syntax point ``u`` (3-D, standard normal), a morphology point
``0.6 u + 0.8 e`` and a lexical point ``0.5 u + 0.87 e'`` (so lexical and
typological distances correlate as in real data), and a log data size;
features are ``lex_dist``, ``syntax_dist``, ``morph_dist`` (Euclidean
distances), ``log10_tokens_src`` and ``log10_tokens_tgt``.

Scenarios for the response ``y_st`` (all with ``N(0, 1)`` noise ``e_st``):

``iid``
    ``y = e``: no language effects.
``src_tgt``
    ``y = a_s + b_t + e``, ``a, b ~ N(0, 1)``: a good source is good for every target.
``both_pair``
    ``y = a_s + b_t + c_s + c_t + v_{st} + e`` with a language effect ``c``
    in both roles and a symmetric pair effect ``v_{st} = v_{ts} ~ N(0, 0.5)``.
``syntax`` / ``lexical`` (alternatives)
    ``both_pair`` plus ``-beta * z(syntax_dist)`` (or ``z(lex_dist)``), with
    ``beta`` set so that the planted feature's correlation with ``y`` is
    ``effect_r`` (default 0.5, the partial Mantel r of Grambank syntactic
    distance with POS transfer in docs/RESULTS.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.stats._inference import (
    METHOD_FREEDMAN_LANE,
    METHOD_FREEDMAN_LANE_FE,
    METHOD_LR,
    METHOD_MRQAP,
    METHOD_MRQAP_FE,
    compare_lolo,
    permutation_design,
    qap_coefficients,
    set_tests,
)
from analysis.stats._models import fit_ols
from analysis.stats import mantel, partial_mantel
from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.config import Interval, save_config
from crossling.errors import ConfigError

__all__ = ["NULLS", "ALTERNATIVES", "TESTS", "simulate_table", "run_tests", "calibrate", "calibration_doc",
           "calibration_figure", "default_lang_sets", "CalibrateConfig", "build_parser", "main"]

#: The null scenarios whose rejection rate is the size of a test (see the module docstring).
NULLS = ("iid", "src_tgt", "both_pair")
#: The planted-effect scenarios whose rejection rate is the power of a test.
ALTERNATIVES = ("syntax", "lexical")
#: test -> (method, headline, the feature or comparison it tests)
TESTS: dict[str, tuple[str, bool, str]] = {
    "coef_syntax_mrqap": (METHOD_MRQAP_FE, True, "syntax_dist coefficient"),
    "coef_lex_mrqap": (METHOD_MRQAP_FE, True, "lex_dist coefficient"),
    "coef_tokens_src_mrqap": (METHOD_MRQAP, True, "log10_tokens_src coefficient (language-level)"),
    "typology_over_lexical_fl": (METHOD_FREEDMAN_LANE_FE, True, "typology block added to lexical"),
    "lexical_over_typology_fl": (METHOD_FREEDMAN_LANE_FE, True, "lexical block added to typology"),
    "all_over_null_fl": (METHOD_FREEDMAN_LANE, True, "all features vs intercept"),
    "coef_syntax_mrqap_nofe": (METHOD_MRQAP, False, "syntax_dist coefficient, no language effects"),
    "typology_over_lexical_fl_nofe": (METHOD_FREEDMAN_LANE, False,
                                      "typology block added to lexical, no language effects"),
    "mantel_syntax": ("mantel", True, "Mantel syntax_dist vs transfer"),
    "partial_mantel_syntax": ("partial-mantel", True, "partial Mantel syntax_dist | lex_dist"),
    "typology_over_lexical_lr": (METHOD_LR, False, "typology block added to lexical"),
    "coef_syntax_ols_cluster2": ("model-based-ols-cluster2", False, "syntax_dist coefficient"),
    "lolo_typology_vs_lexical": ("lolo-language-bootstrap", False, "95% CI of LOLO RMSE difference excludes 0"),
}
GROUPS = {"lexical": ["lex_dist"], "typology": ["syntax_dist", "morph_dist"],
          "lexical+typology": ["lex_dist", "syntax_dist", "morph_dist"],
          "all": ["lex_dist", "syntax_dist", "morph_dist", "log10_tokens_src", "log10_tokens_tgt"]}
PAIR_SD = 0.5 ** 0.5


def _structure_var(scenario: str) -> float:
    return {"iid": 1.0, "src_tgt": 3.0}.get(scenario, 3.0 + 2.0 + PAIR_SD ** 2)


def simulate_table(langs: Sequence[str], scenario: str, rng: np.random.Generator, *,
                   effect_r: float = 0.5) -> pd.DataFrame:
    """One simulated transfer design: one row per ordered pair with the pair features and ``score``.

    Parameters
    ----------
    langs : list of str
        Language labels (only their number matters).
    scenario : one of :data:`NULLS` or :data:`ALTERNATIVES`
    rng : Generator
    effect_r : float, default=0.5
        Correlation of the planted feature with the score (alternatives).

    Returns
    -------
    DataFrame
        ``task, src, tgt, score, lex_dist, syntax_dist, morph_dist,
        log10_tokens_src, log10_tokens_tgt``.
    """
    if scenario not in (*NULLS, *ALTERNATIVES):
        raise ConfigError(f"Unknown scenario {scenario!r}. Available: {[*NULLS, *ALTERNATIVES]}.")
    langs = list(langs)
    n = len(langs)
    if n < 4:
        raise ConfigError(f"Simulation needs at least 4 languages, got {n}.")
    u = rng.normal(size=(n, 3))
    m = 0.6 * u + 0.8 * rng.normal(size=(n, 3))
    w = 0.5 * u + np.sqrt(0.75) * rng.normal(size=(n, 3))
    tok = rng.normal(9.0, 0.7, size=n)
    dist = (lambda p: np.linalg.norm(p[:, None] - p[None], axis=-1))
    S, M, W = dist(u), dist(m), dist(w)
    s_i, t_i = np.nonzero(~np.eye(n, dtype=bool))
    e = rng.normal(size=len(s_i))
    y = e.copy()
    if scenario != "iid":
        a, b = rng.normal(size=n), rng.normal(size=n)
        y += a[s_i] + b[t_i]
    if scenario not in ("iid", "src_tgt"):
        c = rng.normal(size=n)
        v = np.triu(rng.normal(0, PAIR_SD, size=(n, n)), 1)
        v = v + v.T
        y += c[s_i] + c[t_i] + v[s_i, t_i]
    feats = {"lex_dist": W[s_i, t_i], "syntax_dist": S[s_i, t_i], "morph_dist": M[s_i, t_i]}
    if scenario in ALTERNATIVES:
        x = feats["syntax_dist" if scenario == "syntax" else "lex_dist"]
        z = (x - x.mean()) / x.std()
        beta = np.sqrt(_structure_var(scenario) * effect_r ** 2 / (1 - effect_r ** 2))
        y = y - beta * z
    out = pd.DataFrame({"task": "sim", "src": np.asarray(langs)[s_i], "tgt": np.asarray(langs)[t_i], "score": y,
                        **feats, "log10_tokens_src": tok[s_i], "log10_tokens_tgt": tok[t_i]})
    return out


def _matrix(d: pd.DataFrame, col: str) -> pd.DataFrame:
    return d.pivot(index="src", columns="tgt", values=col)


def run_tests(d: pd.DataFrame, *, permutations: int = 199, seed: int = 0,
              tests: Sequence[str] | None = None) -> dict[str, float]:
    """p-value of every test in :data:`TESTS` on one simulated table (LOLO: 0 if the CI excludes 0, else 1)."""
    tests = list(TESTS) if tests is None else list(tests)
    rng = np.random.default_rng(seed)
    feats = GROUPS["all"]
    pd_ = permutation_design(d, permutations=permutations, seed=rng)
    out: dict[str, float] = {}
    if any(t.endswith("_mrqap") for t in tests):
        q = qap_coefficients(d, feats, design=pd_).set_index("term")["p"]
        out["coef_syntax_mrqap"], out["coef_lex_mrqap"] = float(q["syntax_dist"]), float(q["lex_dist"])
        out["coef_tokens_src_mrqap"] = float(q["log10_tokens_src"])
    if "coef_syntax_mrqap_nofe" in tests:
        q = qap_coefficients(d, feats, design=pd_, fixed_effects=False).set_index("term")["p"]
        out["coef_syntax_mrqap_nofe"] = float(q["syntax_dist"])
    if any(t.endswith(("_fl", "_lr")) for t in tests):
        st = set_tests(d, GROUPS, design=pd_, pairs=[("lexical", "lexical+typology"),
                                                      ("typology", "lexical+typology"), ("null", "all")])
        head = st[st["headline"]].set_index(["reduced", "full"])["p"]
        lr = st[st["method"] == METHOD_LR].set_index(["reduced", "full"])["p"]
        out["typology_over_lexical_fl"] = float(head[("lexical", "lexical+typology")])
        out["lexical_over_typology_fl"] = float(head[("typology", "lexical+typology")])
        out["all_over_null_fl"] = float(head[("null", "all")])
        out["typology_over_lexical_lr"] = float(lr[("lexical", "lexical+typology")])
    if "typology_over_lexical_fl_nofe" in tests:
        st = set_tests(d, {"lexical": GROUPS["lexical"], "lexical+typology": GROUPS["lexical+typology"]},
                       design=pd_, include_lr=False, fixed_effects=False)
        out["typology_over_lexical_fl_nofe"] = float(
            st.set_index(["reduced", "full"])["p"][("lexical", "lexical+typology")])
    if "coef_syntax_ols_cluster2" in tests:
        out["coef_syntax_ols_cluster2"] = float(fit_ols(d, feats).coef.set_index("term").loc["syntax_dist", "p"])
    if "mantel_syntax" in tests or "partial_mantel_syntax" in tests:
        Y, S, W = _matrix(d, "score"), _matrix(d, "syntax_dist"), _matrix(d, "lex_dist")
        s2 = int(rng.integers(2 ** 31))
        out["mantel_syntax"] = mantel(S, Y, permutations=permutations, seed=s2).p
        out["partial_mantel_syntax"] = partial_mantel(S, Y, W, permutations=permutations, seed=s2).p
    if "lolo_typology_vs_lexical" in tests:
        c = compare_lolo(d, {"lexical": GROUPS["lexical"], "typology": GROUPS["typology"]},
                         pairs=[("typology", "lexical")], n_boot=499, seed=int(rng.integers(2 ** 31)))
        out["lolo_typology_vs_lexical"] = 0.0 if (c["ci_high"].iloc[0] < 0 or c["ci_low"].iloc[0] > 0) else 1.0
    return {t: out[t] for t in tests}


def calibrate(
    langs: Sequence[str] | None = None,
    *,
    lang_sets: Sequence[Sequence[str]] | None = None,
    reps: int = 500,
    power_reps: int = 200,
    permutations: int = 199,
    effect_r: float = 0.5,
    scenarios: Sequence[str] = (*NULLS, *ALTERNATIVES),
    tests: Sequence[str] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Rejection rates of every test under every scenario.

    Parameters
    ----------
    langs : list of str, optional
        One language list; default :func:`default_lang_sets` (10 and 16).
    lang_sets : list of lists, optional
        Several language lists (overrides ``langs``).
    reps : int, default=500
        Simulated tables per null scenario (size).
    power_reps : int, default=200
        Simulated tables per alternative (power).
    permutations : int, default=199
        Permutations per test and table (199 resolves p down to 0.005, enough
        for rejection at 0.05 and 0.01; the permutation p-value is exact in
        level for any number of permutations).

    Returns
    -------
    DataFrame
        ``test, method, headline, scenario, kind (size|power), n_langs, reps,
        alpha, rate, mc_se, permutations, effect_r``.
    """
    if lang_sets is None:
        lang_sets = [list(langs)] if langs is not None else default_lang_sets()
    tests = list(TESTS) if tests is None else list(tests)
    unknown = sorted(set(tests) - set(TESTS))
    if unknown:
        raise ConfigError(f"Unknown test(s) {unknown}. Available: {sorted(TESTS)}.")
    rng = np.random.default_rng(seed)
    rows = []
    for ls in lang_sets:
        for sc in scenarios:
            R = reps if sc in NULLS else power_reps
            ps = {t: np.empty(R) for t in tests}
            t0 = time.perf_counter()
            for r in range(R):
                d = simulate_table(ls, sc, rng, effect_r=effect_r)
                got = run_tests(d, permutations=permutations, seed=int(rng.integers(2 ** 31)), tests=tests)
                for t in tests:
                    ps[t][r] = got[t]
            if progress:
                print(f"{len(ls)} langs, {sc}: {R} tables in {time.perf_counter() - t0:.1f} s", flush=True)
            for t in tests:
                method, headline, what = TESTS[t]
                for alpha in (0.05, 0.01):
                    rate = float(np.mean(ps[t] <= alpha + 1e-12))
                    rows.append({"test": t, "what": what, "method": method, "headline": headline, "scenario": sc,
                                 "kind": "size" if sc in NULLS else "power", "n_langs": len(ls), "reps": R,
                                 "alpha": alpha, "rate": rate, "mc_se": float(np.sqrt(rate * (1 - rate) / R)),
                                 "permutations": permutations, "effect_r": effect_r if sc not in NULLS else np.nan})
    return pd.DataFrame(rows)


def default_lang_sets() -> list[list[str]]:
    """The study's 10 transfer languages (configs/transfer-xtreme.yaml) and 16 PUD languages (configs/study.yaml)."""
    import yaml

    root = Path(__file__).resolve().parents[1] / "configs"
    out = []
    for file, key in (("transfer-xtreme.yaml", "langs"), ("study.yaml", "pud_langs")):
        try:
            out.append([str(x) for x in yaml.safe_load((root / file).read_text())[key]])
        except (OSError, KeyError, TypeError):
            continue
    if not out:
        out = [[f"l{i}" for i in range(10)], [f"l{i}" for i in range(16)]]
    return out


def _null_sd(scenario: str) -> float:
    return float(np.sqrt(_structure_var(scenario)))


def calibration_figure(table: pd.DataFrame, out: str | Path) -> Path:
    """Size (alpha = 0.05) of every test under each null, one panel per language count; PNG."""
    from analysis.figures._common import subplots

    t = table[(table["alpha"] == 0.05) & (table["kind"] == "size")]
    ns = sorted(t["n_langs"].unique())
    fig, axes = subplots(1, len(ns), figsize=(4.2 * len(ns), 0.32 * t["test"].nunique() + 1.6), sharey=True)
    axes = np.atleast_1d(axes)
    tests = list(dict.fromkeys(t.sort_values(["headline", "test"], ascending=[False, True])["test"]))
    for ax, n in zip(axes, ns):
        for k, sc in enumerate(NULLS):
            s = t[(t["n_langs"] == n) & (t["scenario"] == sc)].set_index("test").reindex(tests)
            yy = np.arange(len(tests)) + (k - 1) * 0.22
            ax.errorbar(s["rate"], yy, xerr=1.96 * s["mc_se"], fmt="o", ms=3, capsize=2, label=sc)
        ax.axvspan(0.02, 0.08, color="green", alpha=0.12)
        ax.axvline(0.05, color="grey", lw=0.8, ls="--")
        ax.set_yticks(np.arange(len(tests)), tests)
        ax.set_title(f"{n} languages")
        ax.set_xlabel("rejection rate at nominal 0.05")
    axes[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    png = Path(out).with_suffix(".png")
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, format="png", dpi=90)
    return png


def calibration_doc(table: pd.DataFrame, out: str | Path, *, figure: str | Path | None = None,
                    runtime_s: float | None = None, command: str = "") -> Path:
    """Write docs/calibration.md from a :func:`calibrate` table."""
    from analysis.results import md_table

    t = table.copy()
    if runtime_s is None and "run_s" in t.columns:
        runtime_s = float(t["run_s"].iloc[0])
    size = t[(t["kind"] == "size")]
    piv = size.pivot_table(index=["test", "method", "headline", "alpha"], columns=["n_langs", "scenario"],
                           values="rate").reset_index()
    piv.columns = [c if isinstance(c, str) else (c[0] if not c[1] else f"{c[1]} ({c[0]})") for c in piv.columns]
    power = t[(t["kind"] == "power") & (t["alpha"] == 0.05)].pivot_table(
        index=["test", "method", "headline"], columns=["n_langs", "scenario"], values="rate").reset_index()
    power.columns = [c if isinstance(c, str) else (c[0] if not c[1] else f"{c[1]} ({c[0]})") for c in power.columns]
    head = size[(size["headline"]) & (size["alpha"] == 0.05)]
    ok = bool(((head["rate"] >= 0.02) & (head["rate"] <= 0.08)).all())
    worst = head.loc[(head["rate"] - 0.05).abs().idxmax()] if not head.empty else None
    out_band = head[(head["rate"] < 0.02) | (head["rate"] > 0.08)]
    pw = t[(t["kind"] == "power") & (t["alpha"] == 0.05) & (t["scenario"] == "syntax")
           & t["test"].isin(["coef_syntax_mrqap", "typology_over_lexical_fl", "mantel_syntax"])]
    reps = int(size["reps"].max()) if not size.empty else 0
    lines = [
        "# Calibration of the transfer tests (generated)",
        "",
        "_Generated by `python -m analysis.calibrate` "
        + (f"(`{command}`)" if command else "") + " from simulated transfer tables; do not edit by hand. "
        "Method: analysis/calibrate.py docstring and docs/analysis.md (\"Inference that respects the pairs\")._",
        "",
        f"Simulated tables per null and language count: {reps}; permutations per test: "
        f"{int(t['permutations'].iloc[0])}; Monte-Carlo SE of a rate near 0.05 at {reps} tables: "
        f"{np.sqrt(0.05 * 0.95 / max(reps, 1)):.3f}."
        + (f" Wall time of the whole run: {runtime_s / 60:.1f} min on the shared 2-core machine." if runtime_s else ""),
        "",
        "Nulls: `iid` (noise only), `src_tgt` (source and target effects), `both_pair` (plus a language effect in "
        "both roles and a symmetric pair effect). Alternatives: `syntax` / `lexical` plant a syntactic / lexical "
        f"distance effect with correlation r = {float(t['effect_r'].dropna().iloc[0]) if t['effect_r'].notna().any() else float('nan'):.2f} "
        "with the score on top of the `both_pair` structure. r = 0.5 is the size the study observes for POS: "
        "docs/RESULTS.md reports a Mantel r of -0.605 between Grambank syntactic distance and zero-shot POS transfer "
        "(e5, 8 languages) and a partial r of -0.499 given data size; we plant the smaller (partial) one.",
        "",
        "## Headline tests: size target [0.02, 0.08] at nominal 0.05",
        "",
        ("**Met**: every headline test's size is within [0.02, 0.08] under all three nulls at every language count."
         if ok else "**Not met** for at least one headline test (see the table)."),
        "" if worst is None else f"Largest deviation from 0.05: `{worst['test']}` at {worst['rate']:.3f} "
        f"({worst['scenario']}, {int(worst['n_langs'])} languages). Headline cells outside the band: "
        f"{len(out_band)} of {len(head)}"
        + ("" if out_band.empty else ": " + "; ".join(
            f"`{r.test}` {r.rate:.3f} ± {r.mc_se:.3f} ({r.scenario}, {int(r.n_langs)} languages)"
            for r in out_band.itertuples())) + ".",
        "",
        "## Size (rejection rate under the nulls)",
        "",
        md_table(piv, max_rows=200),
        "",
        "## Power (rejection rate at 0.05 under the planted alternatives)",
        "",
        md_table(power, max_rows=200),
        "",
    ]
    if not pw.empty:
        lines += ["Power for the planted syntax effect (target >= 0.8): "
                  + "; ".join(f"`{r.test}` {r.rate:.2f} ({int(r.n_langs)} languages)" for r in pw.itertuples())
                  + ".", ""]
    lines += [
        "Model-based tests (`headline = False`) are shown for comparison: the iid likelihood-ratio test and the "
        "two-way cluster-robust OLS t do not keep their level once languages have effects of their own, which is "
        "why the report and RESULTS.md draw conclusions from the node-permutation p-values. The mixed model is "
        "not simulated here (one fit takes about a second). `lolo_typology_vs_lexical` is an interval for a "
        "difference in prediction error, not a test of 'no effect': under a null the two sets differ in size, so "
        "its rate is reported, not targeted.",
        "",
    ]
    if figure is not None:
        lines += [f"![Size of every test under the three nulls]({Path(figure).name})", "",
                  "_Rejection rate at nominal 0.05 (dots, 95% Monte-Carlo interval) of every test under the three "
                  "nulls; green band: the target [0.02, 0.08]._", ""]
    out = Path(out)
    out.write_text("\n".join(lines))
    return out


PROG = "python -m analysis.calibrate"
DESCRIPTION = "Calibrate the transfer tests by simulation: size under three nulls, power under planted effects."


@dataclass
class CalibrateConfig:
    """Configuration of ``python -m analysis.calibrate`` (YAML keys = field names).

    Attributes
    ----------
    langs : list of str
        One language list to simulate (empty: the study's 10 and 16 languages).
    n_langs : list of int
        Language counts to simulate instead of ``langs`` (labels l0, l1, ...).
    reps : int
        Simulated tables per null and language count.
    power_reps : int
        Simulated tables per planted alternative.
    permutations : int
        Node permutations per permutation test.
    effect_r : float
        Correlation of the planted feature with the score under the alternatives.
    seed : int
        Random seed.
    out : str
        The tidy table of rejection rates (.csv or .parquet).
    doc : str
        Markdown page generated from the table ('' for none).
    figure : str
        PNG figure generated from the table ('' for none).
    from_table : str
        Regenerate the doc and figure from this saved table without simulating ('' to simulate).
    quiet : bool
        No progress and no "wrote" line.
    """

    langs: list[str] = field(default_factory=list)
    n_langs: list[int] = field(default_factory=list)
    reps: int = 500
    power_reps: int = 200
    permutations: int = 199
    effect_r: float = 0.5
    seed: int = 0
    out: str = "docs/calibration.csv"
    doc: str = "docs/calibration.md"
    figure: str = "docs/calibration.png"
    from_table: str = ""
    quiet: bool = False

    _parameter_constraints = {
        "reps": [Interval("int", 1, None)],
        "power_reps": [Interval("int", 1, None)],
        "permutations": [Interval("int", 1, None)],
        "effect_r": [Interval("real", 0, 1, closed="neither")],
        "seed": [Interval("int", 0, 2**32 - 1)],
    }

    def validate(self) -> None:
        """Check the values once; raise :class:`ConfigError` naming the key."""
        if self.langs and self.n_langs:
            raise ConfigError("Give either 'langs' or 'n_langs', not both (--langs en,de,... or --n-langs 10,16).")
        if self.langs and len(set(self.langs)) < 3:
            raise ConfigError(f"Config key 'langs' needs at least 3 distinct languages, got {self.langs}.")
        bad = [k for k in self.n_langs if int(k) < 3]
        if bad:
            raise ConfigError(f"Config key 'n_langs' values must be >= 3, got {bad}; e.g. --n-langs 10,16.")
        if self.from_table and not Path(self.from_table).is_file():
            raise ConfigError(f"Config key 'from_table': {self.from_table!r} does not exist; give a table written "
                              "by an earlier run (--from-table docs/calibration.csv).")

    def lang_sets(self) -> list[list[str]]:
        """The language lists to simulate."""
        if self.langs:
            return [list(self.langs)]
        if self.n_langs:
            return [[f"l{i}" for i in range(int(k))] for k in self.n_langs]
        return default_lang_sets()


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`CalibrateConfig` (:func:`crossling.cli.config_parser`)."""
    return config_parser(CalibrateConfig, prog=PROG, description=DESCRIPTION)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.calibrate``."""
    cfg, args = parse_command(CalibrateConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())
    if args.dry_run:
        plan = ([f"would regenerate {cfg.doc} and {cfg.figure} from {cfg.from_table}"] if cfg.from_table else
                [f"would simulate {cfg.reps} tables per null and {cfg.power_reps} per alternative for language "
                 f"counts {[len(s) for s in cfg.lang_sets()]}, {cfg.permutations} permutations per test",
                 f"would write {cfg.out}, {cfg.doc or '(no doc)'}, {cfg.figure or '(no figure)'}"])
        return print_dry_run(cfg, plan)
    if cfg.from_table:
        src = Path(cfg.from_table)
        table = pd.read_parquet(src) if src.suffix == ".parquet" else pd.read_csv(src)
        fig = calibration_figure(table, cfg.figure) if cfg.figure else None
        if cfg.doc:
            calibration_doc(table, cfg.doc, figure=fig, command=f"python -m analysis.calibrate (table {src.name})")
        if not cfg.quiet:
            print(f"wrote {cfg.doc} from {src}")
        return 0
    t0 = time.perf_counter()
    table = calibrate(lang_sets=cfg.lang_sets(), reps=cfg.reps, power_reps=cfg.power_reps,
                      permutations=cfg.permutations, effect_r=cfg.effect_r, seed=cfg.seed, progress=not cfg.quiet)
    runtime = time.perf_counter() - t0
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table["run_s"] = runtime
    table.to_parquet(out) if out.suffix == ".parquet" else table.to_csv(out, index=False)
    save_config(cfg, out.with_suffix(".config.yaml"))
    fig = calibration_figure(table, cfg.figure) if cfg.figure else None
    cmd = "python -m analysis.calibrate " + " ".join(argv if argv is not None else sys.argv[1:])
    if cfg.doc:
        calibration_doc(table, cfg.doc, figure=fig, runtime_s=runtime, command=cmd.strip())
    if not cfg.quiet:
        print(f"wrote {out}" + (f", {cfg.doc}" if cfg.doc else "") + f" in {runtime:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
