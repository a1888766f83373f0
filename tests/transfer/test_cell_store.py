"""The cell store: checksummed cell files, damage detected by name, stale temporary files removed."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest

from crossling.config import load_config
from crossling.errors import StoreError
from crossling.io import remove_stale_temps
from transfer.execution.jobs import Cell, CellStore, RunSpec, cell_checksum
from transfer.run import TransferConfig, run

CELL = Cell("pos", "en", "de", 5, 0)
H = CELL.hash(RunSpec(model="m", regime="head", layer="last"))
ROWS = [{"task": "pos", "src": "en", "tgt": "de", "k": 5, "seed": 0, "metric": "accuracy", "value": 0.8125,
         "n_train": 35, "n_test": 20, "cell": H},
        {"task": "pos", "src": "en", "tgt": "de", "k": 5, "seed": 0, "metric": "f1", "value": float("nan"),
         "n_train": 35, "n_test": 20, "cell": H}]


def test_written_cells_carry_a_verified_checksum(tmp_path):
    st = CellStore(tmp_path)
    st.write(H, CELL, ROWS, 0.25)
    d = json.loads(st.path(H).read_text())
    assert d["checksum"] == cell_checksum(d) and len(d["checksum"]) == 64
    back = st.read(H)
    assert back["rows"][0]["value"] == 0.8125 and math.isnan(back["rows"][1]["value"])


@pytest.mark.parametrize("edit", [
    lambda d: d["rows"][0].update(value=0.8126),           # a flipped digit: still valid JSON
    lambda d: d["rows"][0].update(tgt="fr"),
    lambda d: d["rows"].pop(),
    lambda d: d.update(seconds=9.0),
    lambda d: d.update(checksum="0" * 64),
], ids=["digit", "label", "row-dropped", "seconds", "checksum"])
def test_any_change_after_writing_is_a_store_error_naming_the_file(tmp_path, edit):
    st = CellStore(tmp_path)
    st.write(H, CELL, ROWS, 0.25)
    d = json.loads(st.path(H).read_text())
    edit(d)
    st.path(H).write_text(json.dumps(d, indent=2))
    with pytest.raises(StoreError, match=f"{H}.json.*(corrupt|checksum)"):
        st.read(H)


def test_structural_damage_is_a_store_error(tmp_path):
    st = CellStore(tmp_path)
    st.write(H, CELL, ROWS, 0.25)
    good = json.loads(st.path(H).read_text())
    for bad, what in ((dict(good, hash="ab" * 32), "records hash"), ({**good, "checksun": 1}, "unexpected key"),
                      ([1, 2], "not a cell record")):
        st.path(H).write_text(json.dumps(bad))
        with pytest.raises(StoreError, match=what):
            st.read(H)


def test_cells_written_before_checksums_are_still_read(tmp_path):
    st = CellStore(tmp_path)
    st.path(H).parent.mkdir(parents=True)
    st.path(H).write_text(json.dumps({"hash": H, "cell": asdict(CELL), "rows": ROWS[:1], "seconds": 0.1}))
    assert st.read(H)["rows"] == ROWS[:1]


def test_remove_stale_temps_keeps_everything_else(tmp_path):
    (tmp_path / "cells" / "ab").mkdir(parents=True)
    keep = [tmp_path / "cells" / "ab" / "abc.json", tmp_path / "transfer.parquet", tmp_path / ".lock"]
    for p in keep:
        p.write_text("x")
    stale = [tmp_path / "cells" / "ab" / ".abc.json.k3j4.tmp", tmp_path / ".transfer.parquet.x1.tmp"]
    for p in stale:
        p.write_text("{")
    tmp_dir = tmp_path / "cells" / ".shard-00001.tmp-123"
    (tmp_dir / "sub").mkdir(parents=True)
    (tmp_dir / "sub" / "words.npy").write_text("partial")
    removed = remove_stale_temps(tmp_path, ["cells", "absent"])
    assert set(removed) == {*stale, tmp_dir}
    assert all(p.exists() for p in keep) and not any(p.exists() for p in [*stale, tmp_dir])
    assert remove_stale_temps(tmp_path, ["cells"]) == []


def test_rerun_removes_stale_temps_and_reports_a_damaged_cell(tmp_path):
    cfg = load_config(TransferConfig, None, {
        "features": "synthetic", "synthetic": {"n_train": 30, "n_test": 10, "words": 5, "dim": 8},
        "tasks": ["pos"], "langs": ["en", "de"], "shots": [0], "seeds": [0], "layer": "last", "backend": "serial",
        "out": str(tmp_path / "run"), "progress": False, "figures": False, "train_cap": 20})
    df = run(cfg, log=lambda m: None)
    out = tmp_path / "run"
    cells = sorted((out / "cells").glob("*/*.json"))
    assert len(cells) == 4 and len(df) == 4
    stale = [cells[0].with_name(f".{cells[0].name}.zz9.tmp"), out / "failures" / ".x.json.q1.tmp",
             out / ".transfer.csv.r2.tmp"]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("{partial")
    logs: list[str] = []
    run(cfg, log=logs.append)
    assert not any(p.exists() for p in stale)
    assert any("removed 3 temporary file(s)" in m for m in logs)
    text = cells[1].read_text()
    v = json.loads(text)["rows"][0]["value"]
    cells[1].write_text(text.replace(repr(v), repr(v + 0.25) if v < 0.5 else repr(v - 0.25), 1))
    with pytest.raises(StoreError, match=cells[1].name):
        run(cfg, log=lambda m: None)
