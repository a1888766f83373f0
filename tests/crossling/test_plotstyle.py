"""The shared figure style: fixed scales, one language order, the stamp, the PNG budget; used by probes' figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossling import plotstyle as S


def test_language_order_is_fixed_and_total():
    assert S.language_order(["zh", "en", "qq", "de", "en", "aa"]) == ["en", "de", "zh", "aa", "qq"]
    assert S.language_order(S.LANGUAGE_ORDER[::-1]) == list(S.LANGUAGE_ORDER)


def test_scales_are_fixed_or_symmetric_around_the_null():
    n = S.unit_norm()
    assert (n.vmin, n.vmax) == (0.0, 1.0)
    d = S.diverging_norm([0.1, -0.4, np.nan], center=0.0)
    assert (d.vmin, d.vcenter, d.vmax) == (-0.4, 0.0, 0.4)
    d = S.diverging_norm([0.5, 0.5], center=0.5)  # an all-null input still has a (tiny) scale
    assert d.vmin < 0.5 < d.vmax


def test_palette_is_colour_blind_safe_and_never_black_for_data():
    assert S.OKABE_ITO[0] == "#0072B2" and len(S.OKABE_ITO) == 8
    assert {S.colour(i) for i in range(20)} == set(S.OKABE_ITO[:-1])


def test_stamp_and_budget(tmp_path):
    fig, ax = S.new_figure()
    rng = np.random.default_rng(0)
    ax.imshow(rng.random((400, 400)), cmap=S.SEQUENTIAL)  # noise compresses badly
    S.stamp(fig, model="m1", data="3 languages")
    assert fig.get_supxlabel() == "model: m1  |  data: 3 languages"
    out = S.save_png(fig, tmp_path / "f.png", dpi=200, max_bytes=60_000)
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size <= 60_000
    assert not list(tmp_path.glob(".*"))


def test_small_multiples_hides_unused_panels():
    fig, axes = S.small_multiples(5, ncol=4)
    assert len(axes) == 5 and sum(ax.get_visible() for ax in fig.axes) == 5 and len(fig.axes) == 8


@pytest.fixture()
def probe_table():
    rows = []
    for model, gain in (("m", 0.3), ("random:m", 0.0)):
        for lang in ("en", "de", "zh"):
            for layer in range(4):
                acc = 0.5 + gain * layer / 3
                rows += [(model, layer, lang, "upos", "linear", "accuracy", acc, 100, 50, lang, lang),
                         (model, layer, lang, "upos", "linear", "selectivity", acc - 0.3, 100, 50, lang, lang),
                         (model, layer, lang, "upos", "majority", "accuracy", 0.2, 100, 50, lang, lang),
                         (model, layer, lang, "upos", "linear", "C", 10.0, 100, 0, lang, lang)]
                rows += [(model, layer, lang, "upos", "linear", "accuracy", acc - 0.1, 100, 50, o, lang)
                         for o in ("en", "de", "zh") if o != lang]
    return pd.DataFrame(rows, columns=["model", "layer", "lang", "task", "probe", "metric", "value", "n_train",
                                       "n_test", "train_lang", "test_lang"])


def test_probe_figures_follow_the_style(probe_table, tmp_path):
    from probes.probing import draw_all

    paths = draw_all(probe_table, tmp_path)
    names = sorted(p.name for p in paths)
    assert "by_layer_upos.png" in names and "transfer_upos_L3.png" in names
    assert not any("_C" in n for n in names)  # the setting C is never drawn
    for p in paths:
        assert p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size <= S.MAX_PNG_BYTES
