"""Figure helpers: matrices from tidy tables, clustering order, files written."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from crossling.errors import ConfigError, DataError
from representations.figures import (
    cluster_order,
    parse_pair,
    plot_heatmap,
    plot_layer_curves,
    similarity_matrix,
)


def _table() -> pd.DataFrame:
    groups = {"de": 0, "nl": 0, "en": 0, "zh": 1, "ja": 1, "ko": 1}
    rows = []
    for layer in (0, 1):
        for a, b in itertools.combinations(sorted(groups), 2):
            v = 0.9 if groups[a] == groups[b] else 0.2
            rows.append({"model": "m", "layer": layer, "lang_a": a, "lang_b": b, "metric": "cka",
                         "value": v - 0.1 * layer, "ci_low": v - 0.2, "ci_high": v, "p_value": 0.01, "n": 10})
    return pd.DataFrame(rows)


def test_similarity_matrix_mirrors_symmetric_rows():
    m = similarity_matrix(_table(), metric="cka", layer=0)
    assert m.loc["zh", "de"] == m.loc["de", "zh"] == pytest.approx(0.2)
    assert np.allclose(np.diag(m), 1.0)
    with pytest.raises(DataError, match="no rows for metric 'svcca'"):
        similarity_matrix(_table(), metric="svcca", layer=0)


def test_cluster_order_groups_similar_languages():
    order = cluster_order(similarity_matrix(_table(), metric="cka", layer=0))
    pos = {lang: i for i, lang in enumerate(order)}
    assert sorted(pos[l] for l in ("de", "nl", "en")) in ([0, 1, 2], [3, 4, 5])


def test_plots_write_files(tmp_path):
    p = plot_heatmap(_table(), metric="cka", layer=1, path=tmp_path / "h.png")
    q = plot_layer_curves(_table(), metric="cka", pairs=[("en", "de"), ("zh", "en")], path=tmp_path / "c.png")
    assert p.stat().st_size > 1000 and q.stat().st_size > 1000
    with pytest.raises(DataError, match="None of the pairs"):
        plot_layer_curves(_table(), metric="cka", pairs=[("xx", "yy")], path=tmp_path / "d.png")


def test_parse_pair():
    assert parse_pair("en-de") == ("en", "de")
    with pytest.raises(ConfigError, match="en-de"):
        parse_pair("ende")
