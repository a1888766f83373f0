"""``representations.align --backend ray`` against a real local Ray cluster started by the test.

The equivalence test takes about 10 s on an idle 2-core machine (default tier); the
start-and-stop test, which boots a second Ray, is marked slow."""

from __future__ import annotations

import pandas as pd
import pytest

from crossling.config import load_config
from representations.align import AlignConfig, align


def _cfg(store, out, **kw):
    base = dict(activations=str(store), out=str(out), metrics=["cka", "svcca", "retrieval"], n_permutations=9,
                n_bootstrap=5, figures=False, cca_max_dims=12, threads=1)
    base.update(kw)
    return load_config(AlignConfig, None, base)


def test_ray_backend_equals_serial_on_a_local_cluster(tiny_store, tmp_path):
    ray = pytest.importorskip("ray")
    logs: list[str] = []
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        t_ray, l_ray, _ = align(_cfg(tiny_store, tmp_path / "ray", backend="ray"), log=logs.append)
        assert ray.is_initialized()  # a cluster the run did not start is left running
    finally:
        ray.shutdown()
    t_serial, l_serial, _ = align(_cfg(tiny_store, tmp_path / "serial"), log=lambda m: None)
    # One task per layer, then one per language's layer matrix.
    assert any("layer_records task(s) on Ray" in m for m in logs)
    assert any("language_records task(s) on Ray" in m for m in logs)
    pd.testing.assert_frame_equal(t_ray, t_serial)
    pd.testing.assert_frame_equal(l_ray, l_serial)


@pytest.mark.slow
def test_ray_backend_starts_and_stops_its_own_local_ray(tiny_store, tmp_path):
    ray = pytest.importorskip("ray")
    table, _, out = align(_cfg(tiny_store, tmp_path / "own", backend="ray", workers=1, layer_matrices=False,
                               metrics=["cka"], length_control=False), log=lambda m: None)
    assert not ray.is_initialized()
    assert set(table.metric) == {"cka"} and (out / "alignment.parquet").exists()


def test_backend_is_validated(tiny_store, tmp_path):
    from crossling.errors import ConfigError

    with pytest.raises(ConfigError, match="backend must be 'serial' or 'ray'"):
        _cfg(tiny_store, tmp_path, backend="dask").validate()
