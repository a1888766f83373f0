"""Tests of transfer.attribute: planted unit attribution, overlap, ablation; token attribution; HTML; CLI."""

from __future__ import annotations


import numpy as np
import pytest

from crossling.errors import ConfigError, DataError
from transfer import attribute as A

D_UNITS = 48
K_CLASSES = 3


def _layout(seed: int) -> tuple[list[int], np.ndarray]:
    """Carrier units (one strong unit per class) and a graded weaker class signal on 20 more units."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(D_UNITS)
    carriers = perm[:K_CLASSES].tolist()
    M = np.zeros((K_CLASSES, D_UNITS), dtype=np.float32)
    for c, u in enumerate(carriers):
        M[c, u] = 2.5
    for j, u in enumerate(perm[K_CLASSES:K_CLASSES + 20]):
        M[j % K_CLASSES, u] = 0.9 - 0.04 * j  # graded strengths 0.9 .. 0.14
    return carriers, M


def _planted(layout: tuple[list[int], np.ndarray], seed: int, n: int = 600) -> A.ProbeData:
    """Random features; the label shifts the units of ``layout`` (a 'language')."""
    _, M = layout
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 1.5, D_UNITS).astype(np.float32)  # units of different raw scales

    def draw(m: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, K_CLASSES, m)
        X = rng.standard_normal((m, D_UNITS)).astype(np.float32)
        return (X + M[y]) * scale, y

    Xtr, ytr = draw(n)
    Xte, yte = draw(n // 2)
    return A.ProbeData(Xtr + 5.0, ytr, Xte + 5.0, yte, ["a", "b", "c"])


@pytest.fixture(scope="module")
def planted() -> dict[str, tuple]:
    """Languages A and B share their carrier units; C has disjoint ones."""
    shared, other = _layout(0), _layout(1)
    assert not set(shared[0]) & set(other[0])
    out = {}
    for name, lay, seed in (("A", shared, 10), ("B", shared, 11), ("C", other, 12)):
        data = _planted(lay, seed)
        probe = A.fit_probe(data)
        Z = probe.standardise(data.X_test)
        out[name] = (lay, data, probe, Z)
    return out


@pytest.mark.parametrize("method", ["integrated_gradients", "feature_ablation"])
def test_attribution_ranks_planted_units_first(planted, method):
    for name in ("A", "B", "C"):
        (carriers, _), data, probe, Z = planted[name]
        assert (probe.predict(Z) == data.y_test).mean() > 0.75
        imp, info = A.unit_importance(probe, Z, data.y_test, method=method)
        assert imp.shape == (D_UNITS,)
        assert set(A.top_k_units(imp, K_CLASSES).tolist()) == set(carriers)
        if method == "integrated_gradients":
            assert info["mean_abs_delta"] < 1e-4


def test_gold_target_and_mlp_probe_also_find_carriers(planted):
    (carriers, _), data, _, _ = planted["A"]
    probe = A.fit_probe(data, "mlp", hidden=32, epochs=100, lr=1e-2)
    Z = probe.standardise(data.X_test)
    assert (probe.predict(Z) == data.y_test).mean() > 0.75
    imp, _ = A.unit_importance(probe, Z, data.y_test, method="integrated_gradients", target="gold")
    assert set(A.top_k_units(imp, K_CLASSES).tolist()) == set(carriers)


def test_integrated_gradients_is_exact_for_linear_logits(planted):
    """IG of a linear logit from z = 0 is z_i * W_ic (completeness, no approximation)."""
    _, _, probe, Z = planted["A"]
    t = probe.predict(Z[:20])
    attr, delta = A.attribute_units(probe, Z[:20], t, output="logit")
    want = Z[:20] * probe.params["W"][:, t].T
    np.testing.assert_allclose(attr, want, rtol=1e-4, atol=1e-5)
    assert np.abs(delta).max() < 1e-4


def _imp(planted, name):
    _, data, probe, Z = planted[name]
    return A.unit_importance(probe, Z, data.y_test)[0]


def test_shared_units_overlap_high_and_significant(planted):
    rows = {r["metric"]: r for r in A.overlap_tests(_imp(planted, "A"), _imp(planted, "B"), 10, n_perm=500)}
    assert rows["topk_jaccard"]["value"] > 0.6
    assert rows["topk_jaccard"]["p_value"] < 0.01 and rows["topk_jaccard"]["p_exact"] < 1e-3
    assert rows["topk_jaccard"]["null_mean"] < 0.2
    assert rows["importance_spearman"]["value"] > 0.5
    assert rows["importance_spearman"]["p_value"] < 0.01


def test_disjoint_units_overlap_low_and_not_significant(planted):
    rows = {r["metric"]: r for r in A.overlap_tests(_imp(planted, "A"), _imp(planted, "C"), K_CLASSES, n_perm=500)}
    assert rows["topk_jaccard"]["value"] == 0.0
    assert rows["topk_jaccard"]["p_value"] > 0.5


def test_ablating_shared_top_units_drops_accuracy_random_does_not(planted):
    top_a = A.top_k_units(_imp(planted, "A"), K_CLASSES)
    _, data_b, probe_b, Zb = planted["B"]
    for mode in ("mean", "zero"):
        res = A.ablation_test(probe_b, Zb, data_b.y_test, top_a, mode=mode, n_random=40)
        assert res["drop"] > 0.3
        assert res["drop"] > res["null_mean"] + 2 * res["null_sd"]
        assert res["p_value"] < 0.05
        if mode == "mean":  # zeroing a raw unit far from 0 (features have mean 5) hurts even at random
            assert res["null_mean"] < 0.1
    # the linear fast path equals ablating the features and re-predicting
    Za = Zb.copy()
    Za[:, top_a] = 0.0
    res = A.ablation_test(probe_b, Zb, data_b.y_test, top_a, n_random=2)
    assert res["accuracy_ablated"] == pytest.approx(float((probe_b.predict(Za) == data_b.y_test).mean()))
    top_c = A.top_k_units(_imp(planted, "C"), K_CLASSES)
    res = A.ablation_test(probe_b, Zb, data_b.y_test, top_c, n_random=40)
    assert res["drop"] < 0.1 and res["p_value"] > 0.05


def test_overlap_statistics_properties():
    rng = np.random.default_rng(0)
    a = rng.random(100)
    same = {r["metric"]: r["value"] for r in A.overlap_tests(a, a, 10, n_perm=50)}
    assert same == {"topk_jaccard": 1.0, "importance_spearman": pytest.approx(1.0)}
    from scipy.stats import hypergeom

    rows = A.overlap_tests(a, rng.random(100), 10, n_perm=4000, seed=1)
    # the Monte-Carlo null of the Jaccard index matches its exact mean under random 10-unit sets
    i = np.arange(11)
    exact = float((hypergeom.pmf(i, 100, 10, 10) * i / (20 - i)).sum())
    assert rows[0]["null_mean"] == pytest.approx(exact, abs=0.005)
    assert abs(rows[1]["null_mean"]) < 0.01  # permuted Spearman is centred on 0
    assert A.jaccard([1, 2, 3], [2, 3, 4]) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="k must lie"):
        A.top_k_units(a, 0)
    with pytest.raises(DataError, match="same shape"):
        A.overlap_tests(a, a[:50], 5)


def test_spearman_matches_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    a, b = rng.random(60), rng.random(60)
    b[:30] = a[:30]
    rho = A.overlap_tests(a, b, 5, n_perm=10)[1]["value"]
    assert rho == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


def test_bad_inputs_raise_suite_errors(planted):
    _, data, probe, Z = planted["A"]
    with pytest.raises(DataError, match="fitted on 48 units"):
        probe.standardise(np.zeros((3, 5), dtype=np.float32))
    with pytest.raises(ConfigError, match="Unknown attribution method"):
        A.unit_importance(probe, Z, method="nope")
    with pytest.raises(ConfigError, match="target must be"):
        A.unit_importance(probe, Z, target="both")
    with pytest.raises(ConfigError, match="ablation mode"):
        A.ablation_test(probe, Z, data.y_test, [1, 2], mode="median")
    with pytest.raises(ConfigError, match="units must be"):
        A.ablation_test(probe, Z, data.y_test, [99])


# --------------------------------------------------------------------------- token attribution (tiny random model)


@pytest.fixture(scope="module")
def tiny(tiny_bert_dir):
    from probes.readers.corpora import load_corpus
    from probes.models import load_model

    loaded = load_model(str(tiny_bert_dir))
    corpus = load_corpus("sample", langs=["en", "de"])
    return loaded, corpus


def _check_completeness(attr: A.TokenAttribution) -> None:
    """Attributions sum to the output difference within captum's reported convergence delta."""
    total = float(np.sum(attr.scores))
    diff = attr.output - attr.baseline_output
    assert len(attr.scores) == len(attr.tokens)
    assert abs(total - diff) <= abs(attr.delta) + 1e-5
    assert abs(attr.delta) <= 0.05 * abs(diff) + 1e-4
    assert np.abs(attr.scores).sum() > 0


def test_token_attribution_head_regime_completeness(tiny):
    from transfer.tasks import get_task

    loaded, corpus = tiny
    task = get_task("pos")
    head = A.train_head_model(loaded, task, corpus.sentences["en"][5:25], 2, seed=0)
    ex = A.head_explainer(loaded, head, task, 2)
    for s in (corpus.sentences["en"][0], corpus.sentences["de"][0]):
        attr = ex.explain(s, n_steps=32)
        _check_completeness(attr)
        assert attr.words[attr.unit] == s.words[A.explained_word(s)].form
        assert attr.target == attr.predicted
    gold = ex.explain(corpus.sentences["en"][1], target="gold", n_steps=16)
    assert gold.target == corpus.sentences["en"][1].words[gold.unit].upos


def test_token_attribution_finetune_regime_and_layer_mix(tiny):
    from transfer.tasks import get_task

    loaded, corpus = tiny
    task = get_task("pos")
    tm = A.train_finetune_model(loaded, task, corpus.sentences["en"][5:13], options={"epochs": 1, "batch_size": 8, "min_steps": 0})
    attr = A.finetune_explainer(tm, model=loaded.name).explain(corpus.sentences["de"][2], n_steps=32)
    assert attr.regime == "finetune"
    _check_completeness(attr)
    head = A.train_head_model(loaded, task, corpus.sentences["en"][5:15], "mix", seed=0,
                              head_params={"steps": 30})
    _check_completeness(A.head_explainer(loaded, head, task, "mix").explain(corpus.sentences["en"][3], n_steps=32))


def test_render_html_side_by_side_and_escaped(tiny):
    scores = np.array([0.0, 0.5, -0.25, 0.0])
    recs = [A.TokenAttribution("m", "head", "2", "pos", lang, "s1", ["<s>", "a", "b", "</s>"], scores,
                               [w, "<script>x</script>"], [[1], [2]], 0, "NOUN", "VERB", 0.4, -0.9, -1.2, 1e-6)
            for lang, w in (("en", "cat"), ("de", "Katze"))]
    html = A.render_token_html(recs, title="t")
    assert html.startswith('<div class="crossling-attr"') and html.rstrip().endswith("</div>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Katze" in html and "cat" in html and "predicted VERB" in html
    # round trip through the tidy table gives the same fragment
    table = A.token_table(recs)
    assert list(table.columns) == list(A.TOKEN_COLUMNS) and len(table) == 8
    assert A.render_token_html(table, title="t") == html
    assert "rgba(37,99,235" in A.render_token_html(recs, level="token")
    with pytest.raises(ConfigError, match="level"):
        A.render_token_html(recs, level="char")


# --------------------------------------------------------------------------- CLI end to end


def test_cli_units_and_tokens(tiny, tmp_path, capsys):
    from probes.extract import extract_sentences
    from crossling.tables import read_table

    loaded, corpus = tiny
    store = tmp_path / "store"
    extract_sentences(loaded, {l: corpus.sentences[l] for l in ("en", "de")}, store, layers="1,2", progress=False)
    out = tmp_path / "attr"
    code = A.main(["units", "--activations", str(store), "--out", str(out), "--tasks", "upos", "--k", "4,8",
                   "--n-perm", "50", "--n-random", "5", "--min-examples", "20", "--ig-steps", "8",
                   "--methods", "integrated_gradients,feature_ablation", "--quiet"])
    assert code == 0
    ov = read_table(out / "overlap.parquet", A.OVERLAP_COLUMNS)
    assert set(ov["layer"]) == {1, 2} and set(ov["metric"]) == {"topk_jaccard", "importance_spearman"}
    assert ov["p_value"].between(0, 1).all() and (ov["p_adj"] >= ov["p_value"] - 1e-12).all()
    assert set(ov["k"]) == {4, 8} and len(ov) == 2 * 2 * 2 * 2  # layers x methods x metrics x k (one pair)
    assert set(ov["model"]) == {loaded.name}
    ab = read_table(out / "ablation.parquet", A.ABLATION_COLUMNS)
    assert len(ab) == 2 * 2 * 4 * 2 * 2  # layers x methods x (a, b) x metrics x k
    units = read_table(out / "units.parquet", A.UNIT_COLUMNS)
    assert len(units) == 2 * 2 * 2 * 32
    assert (out / "config.yaml").is_file()
    pf = read_table(out / "pair_features.parquet", ["lang_a", "lang_b", "feature", "value", "source"])
    assert {"unit_jaccard_k4:upos:integrated_gradients@L2", "unit_spearman:upos:feature_ablation@L1"} <= set(pf["feature"])
    assert len(pf) == len(ov) * 3 // 4  # Spearman rows do not depend on k
    pr = read_table(out / "probes.parquet", A.PROBE_COLUMNS)
    assert pr.loc[pr["metric"] == "refit_accuracy", "value"].between(0, 1).all()
    assert (out / "figures" / "overlap-upos-integrated_gradients-k4-L1.png").is_file()
    assert (out / "figures" / "overlap-by-layer-upos-feature_ablation-k8.png").is_file()
    assert (out / "figures" / "ablation-upos-feature_ablation-k4.png").is_file()
    tok_out = tmp_path / "tok"
    code = A.main(["tokens", "--model", loaded.name, "--langs", "en,de", "--n-examples", "2",
                   "--layer", "2", "--n-steps", "8", "--train-cap", "10", "--out", str(tok_out)])
    assert code == 0
    tt = read_table(tok_out / "token_attributions.parquet", A.TOKEN_COLUMNS)
    assert set(tt["lang"]) == {"en", "de"} and tt["example_id"].nunique() == 2
    html = (tok_out / "tokens.html").read_text(encoding="utf-8")
    assert html.count("explains") == 4


def test_cli_errors_name_the_problem(tmp_path):
    from crossling.cli import run_main

    assert run_main(A.main, ["units"]) == 2
    assert run_main(A.main, ["units", "--activations", str(tmp_path), "--methods", "integrated_gradient"]) == 2
    assert run_main(A.main, []) == 2
    with pytest.raises(ConfigError, match="Did you mean 'integrated_gradients'"):
        A.main(["units", "--activations", str(tmp_path), "--methods", "integrated_gradient"])


@pytest.mark.parametrize("head_name", ["softmax", "ridge"])
def test_head_adapter_reproduces_the_heads_decisions(head_name):
    """The torch function that captum differentiates gives the head's own decision_function."""
    import torch

    from transfer.attribution._tokens import HEAD_ADAPTERS
    from transfer.heads import make_head

    rng = np.random.default_rng(0)
    X = (rng.standard_normal((120, 16)) * 3 + 2).astype(np.float32)
    y = (X[:, 0] > 2).astype(np.int64) + (X[:, 1] > 2)
    head = make_head(head_name, 3, seed=0, params={"steps": 50} if head_name == "softmax" else None).fit(X, y)
    fn, is_mix = HEAD_ADAPTERS.get(type(head).__name__)(head)
    got = fn(torch.from_numpy(X[:10])).detach().numpy()
    np.testing.assert_allclose(got, head.decision_function(X[:10]), rtol=1e-4, atol=1e-4)
    assert not is_mix
