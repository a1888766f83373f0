"""Every registered figure writes a decodable PNG and a PDF from tidy tables."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from analysis import figures as F
from analysis.stats import fit_laws
from analysis.stats import mantel_by_layer
from analysis.stats import explain_transfer, square_matrix
from crossling.errors import ConfigError, DataError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tables(sim):
    tr, fe, _ = sim.simulate(noise=0.005)
    res = explain_transfer(tr, fe, kinds=("ols",), subset_sizes=())
    al = sim.simulate_alignment(fe)
    mt = mantel_by_layer(al, {"syntax_dist": square_matrix(fe[fe["feature"] == "syntax_dist"], "value")},
                         permutations=49)
    fs = sim.simulate_fewshot()
    return {"transfer": tr, "features": fe, "res": res, "alignment": al, "mantel": mt, "fewshot": fs,
            "probes": sim.simulate_probes()}


def _calls(t):
    return {
        "coefficients": lambda out: F.coefficient_plot(t["res"]["coefficients"], out),
        "observed_vs_predicted": lambda out: F.observed_vs_predicted(t["res"]["predictions"], out),
        "alignment_layers": lambda out: F.alignment_by_layer(
            pd.concat([t["alignment"], t["alignment"].assign(model="random:sim", value=t["alignment"]["value"] - 0.3)]),
            out),
        "alignment_heatmap": lambda out: F.alignment_heatmap(t["alignment"], out, metric="cka"),
        "typology_alignment": lambda out: F.typology_alignment_scatter(t["alignment"], t["features"], "syntax_dist",
                                                                       out, mantel_table=t["mantel"]),
        "mantel_by_layer": lambda out: F.mantel_by_layer_plot(t["mantel"], out),
        "transfer_matrix": lambda out: F.transfer_matrix_plot(t["transfer"], out, task="xnli"),
        "fewshot_curves": lambda out: F.fewshot_curves(t["fewshot"], out, laws=fit_laws(t["fewshot"])),
        "probe_layers": lambda out: F.probe_accuracy_by_layer(t["probes"], out),
    }


def test_every_registered_figure_is_covered(tables):
    assert sorted(_calls(tables)) == F.FIGURES.names()


@pytest.mark.parametrize("name", sorted(["coefficients", "observed_vs_predicted", "typology_alignment",
                                         "alignment_layers", "alignment_heatmap",
                                         "mantel_by_layer", "transfer_matrix", "fewshot_curves", "probe_layers"]))
def test_figure_writes_png_and_pdf(tables, tmp_path, name):
    png, pdf = _calls(tables)[name](tmp_path / name)
    assert png == tmp_path / f"{name}.png" and pdf == tmp_path / f"{name}.pdf"
    assert png.read_bytes()[:8] == PNG_MAGIC
    img = mpimg.imread(png)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert np.ptp(img[..., :3]) > 0  # not a blank canvas
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes left nothing behind


def test_figures_reject_empty_or_ambiguous_input(tables, tmp_path):
    coef = tables["res"]["coefficients"]
    with pytest.raises(DataError, match="empty"):
        F.coefficient_plot(coef[coef["term"] == "const"], tmp_path / "x")
    two = pd.concat([tables["probes"], tables["probes"].assign(metric="f1")])
    with pytest.raises(ConfigError, match="several metrics"):
        F.probe_accuracy_by_layer(two, tmp_path / "y")
    with pytest.raises(DataError, match="lacks required column"):
        F.observed_vs_predicted(pd.DataFrame({"observed": [1.0]}), tmp_path / "z")


def test_forest_plot_draws_headline_rows_with_the_model_based_interval(tables, tmp_path):
    coef = tables["res"]["coefficients"]
    ols = coef[coef["fit"].astype(str) == "ols"].assign(headline=False, method="wald")
    perm = ols[["fit", "term", "beta", "p", "n"]].assign(fit="mrqap", headline=True, p=0.5,
                                                         method="mrqap-node-permutation")
    png, _ = F.coefficient_plot(pd.concat([ols, perm], ignore_index=True), tmp_path / "forest")
    img = mpimg.imread(png)
    assert img.shape[0] > 100 and np.ptp(img[..., :3]) > 0


def test_mantel_by_layer_draws_at_most_four_metrics(tables, tmp_path):
    import matplotlib.pyplot as plt

    mt = tables["mantel"]
    eight = pd.concat([mt.assign(metric=name) for name in
                       ("cka", "cka_lenctl", "pwcca", "pwcca_lenctl", "retrieval", "retrieval_lenctl", "svcca",
                        "svcca_lenctl")], ignore_index=True)
    seen = []
    orig = plt.Figure.savefig

    def spy(fig, *a, **k):
        seen.append({ln.get_label() for ax in fig.axes for ln in ax.get_lines() if not ln.get_label().startswith("_")})
        return orig(fig, *a, **k)

    plt.Figure.savefig = spy
    try:
        F.mantel_by_layer_plot(eight, tmp_path / "m")
    finally:
        plt.Figure.savefig = orig
    metrics = {lab.split(" ")[0] for lab in seen[0]}
    assert metrics == {"cka", "cka_lenctl", "svcca", "retrieval"}
    with pytest.raises(ConfigError, match="does not have"):
        F.mantel_by_layer_plot(eight, tmp_path / "m2", metrics=["cka", "bogus"])
