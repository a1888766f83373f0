"""Mantel and partial Mantel tests: planted correlation, nominal null rate, partialling, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.stats import bh_fdr, mantel, mantel_by_layer, partial_mantel
from crossling.errors import DataError

LANGS = [f"l{i}" for i in range(10)]


def _dist(points: np.ndarray, langs=LANGS) -> pd.DataFrame:
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return pd.DataFrame(d, index=langs[: len(d)], columns=langs[: len(d)])


def _sym_noise(rng, n, sd):
    e = rng.normal(0, sd, (n, n))
    e = (e + e.T) / 2
    np.fill_diagonal(e, 0)
    return e


def test_planted_correlation_is_found():
    rng = np.random.default_rng(0)
    A = _dist(rng.normal(size=(10, 3)))
    B = A + _sym_noise(rng, 10, 0.3)
    res = mantel(A, B, permutations=999, seed=1)
    iu = np.triu_indices(10, 1)
    assert res.r == pytest.approx(sps.pearsonr(A.to_numpy()[iu], B.to_numpy()[iu])[0])
    assert res.r > 0.7 and res.p <= 0.002
    assert res.n_cells == 45 and res.n_langs == 10
    sp = mantel(A, B, permutations=99, method="spearman")
    assert sp.r == pytest.approx(sps.spearmanr(A.to_numpy()[iu], B.to_numpy()[iu])[0])


def test_null_rejection_rate_is_nominal():
    rng = np.random.default_rng(42)
    n_pairs, rejections = 200, 0
    for i in range(n_pairs):
        A = _dist(rng.normal(size=(10, 2)))
        B = _dist(rng.normal(size=(10, 2)))
        rejections += mantel(A, B, permutations=99, seed=i).p <= 0.05
    # Binomial(200, 0.05): mean 10, sd 3.1; [2, 20] holds 99.7% of the mass
    assert 2 <= rejections <= 20, rejections


def test_permutation_p_is_not_the_parametric_p():
    """Cells sharing a language are dependent: Mantel p must be larger than the naive Pearson p here."""
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=10), rng.normal(size=10)
    A = pd.DataFrame(a[:, None] + a[None], LANGS, LANGS)  # row/column effects only
    B = pd.DataFrame(b[:, None] + b[None], LANGS, LANGS)
    res = mantel(A, B, permutations=999)
    iu = np.triu_indices(10, 1)
    naive = sps.pearsonr(A.to_numpy()[iu], B.to_numpy()[iu])[1]
    assert res.p > naive


def test_labels_not_order_decide_the_pairing():
    rng = np.random.default_rng(1)
    A = _dist(rng.normal(size=(10, 3)))
    B = A + _sym_noise(rng, 10, 0.2)
    perm = list(rng.permutation(LANGS))
    r1 = mantel(A, B, permutations=9).r
    r2 = mantel(A, B.loc[perm, perm], permutations=9).r
    assert r1 == pytest.approx(r2)
    # extra languages in one matrix are ignored
    big = _dist(np.vstack([rng.normal(size=(10, 3)), rng.normal(size=(2, 3))]), LANGS + ["x1", "x2"])
    assert mantel(big, A, permutations=9).n_langs == 10


def test_partial_mantel_removes_a_shared_driver():
    rng = np.random.default_rng(3)
    C = _dist(rng.normal(size=(10, 3)))  # data size drives both
    A = C + _sym_noise(rng, 10, 0.3)
    B = C + _sym_noise(rng, 10, 0.3)
    plain = mantel(A, B, permutations=499, seed=0)
    part = partial_mantel(A, B, C, permutations=499, seed=0)
    assert plain.p < 0.01 and plain.r > 0.6
    assert abs(part.r) < 0.35 and part.p > 0.05
    # a direct link beyond C survives partialling
    D = _dist(rng.normal(size=(10, 3)))
    A2, B2 = C + D, C + D + _sym_noise(rng, 10, 0.2)
    assert partial_mantel(A2, B2, C, permutations=499).p < 0.01


def test_asymmetric_matrix_uses_off_diagonal_cells():
    rng = np.random.default_rng(2)
    A = _dist(rng.normal(size=(10, 3)))
    T = pd.DataFrame(-A.to_numpy() + rng.normal(0, 0.2, (10, 10)), LANGS, LANGS)  # src->tgt transfer
    res = mantel(A, T, permutations=199)
    assert res.n_cells == 90 and res.r < -0.5 and res.p < 0.01


def test_mantel_by_layer_finds_planted_layers_with_fdr(sim):
    tr, fe, _ = sim.simulate()
    al = sim.simulate_alignment(fe, feature="syntax_dist", layers=range(5), strong=(3, 4))
    syn = fe[fe["feature"] == "syntax_dist"]
    from analysis._frames import square_matrix

    out = mantel_by_layer(al, {"syntax": square_matrix(syn, "value")}, permutations=199)
    out = out.set_index("layer")
    assert (out.loc[[3, 4], "significant"]).all() and (out.loc[[3, 4], "r"] < -0.8).all()
    assert not out.loc[[0, 1, 2], "significant"].any()
    assert (out["q"] >= out["p"] - 1e-12).all()
    assert (out["model"] == "sim-model").all()


def test_bh_matches_definition():
    p = np.array([0.001, 0.01, 0.02, 0.04, 0.5])
    q, rej = bh_fdr(p, 0.05)
    m = len(p)
    expected = np.minimum.accumulate((p * m / np.arange(1, m + 1))[::-1])[::-1]
    np.testing.assert_allclose(q, expected)
    assert rej.tolist() == [True, True, True, True, False]


def test_errors():
    A = pd.DataFrame(np.ones((3, 3)), list("abc"), list("abc"))
    with pytest.raises(DataError, match="at least 4"):
        mantel(A, A)
    with pytest.raises(DataError, match="square"):
        mantel(pd.DataFrame(np.ones((3, 2))), A)
    rng = np.random.default_rng(0)
    X = _dist(rng.normal(size=(10, 2)))
    with pytest.raises(DataError, match="constant"):
        mantel(X, X * 0 + 1)


@pytest.mark.integration
def test_real_uriel_matrices(data_dir):
    from analysis._frames import square_matrix
    from analysis.typology import pair_features

    langs = ["en", "de", "fr", "es", "ru", "zh", "ar", "hi", "sw", "tr", "ja", "fi"]
    fe = pair_features(langs, sources=["uriel"], data_dir=data_dir)
    m = {f: square_matrix(fe[fe["feature"] == f], "value") for f in ("uriel_syntax", "uriel_featural", "uriel_genetic")}
    res = mantel(m["uriel_featural"], m["uriel_syntax"], permutations=499)
    assert res.n_langs == 12 and res.r > 0.5 and res.p < 0.01  # featural includes the syntax vector
    assert np.isfinite(mantel(m["uriel_genetic"], m["uriel_syntax"], permutations=99).r)


def test_mantel_pairs_table():
    rng = np.random.default_rng(4)
    A = _dist(rng.normal(size=(10, 3)))
    T = pd.DataFrame(-A.to_numpy() + rng.normal(0, 0.1, (10, 10)), LANGS, LANGS)
    N = _dist(rng.normal(size=(10, 3)))
    from analysis.stats import mantel_pairs

    out = mantel_pairs({"related": A, "unrelated": N}, {"nli": T}, control=N, permutations=199)
    out = out.set_index(["left", "test"])
    assert out.loc[("related", "mantel"), "significant"] and out.loc[("related", "partial"), "significant"]
    assert out.loc[("related", "mantel"), "r"] < -0.8
    assert (out["q"] >= out["p"] - 1e-12).all() and len(out) == 4
