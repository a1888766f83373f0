"""analysis.report on damaged or unusable inputs: a precise error, and nothing written."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.report import ReportConfig, build_report, discover_tables, main
from crossling.cli import run_main
from crossling.errors import ConfigError, DataError
from crossling.tables import write_table


def _transfer(sim) -> pd.DataFrame:
    tr, _, _ = sim.simulate(n_langs=4, seeds=1)
    return tr


def test_corrupt_parquet_is_an_error_naming_it(sim, tmp_path):
    run = tmp_path / "run"
    write_table(_transfer(sim), run / "transfer")
    (run / "alignment.parquet").write_bytes(b"PAR1garbage")
    with pytest.raises(DataError, match="alignment.parquet"):
        discover_tables(run)
    with pytest.raises(DataError, match="alignment.parquet"):
        build_report(ReportConfig(run=str(run)))
    assert not (run / "analysis").exists() and not (run / "report.html").exists()


def test_truncated_csv_without_parquet_twin_is_an_error(sim, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "probes.csv").write_bytes(b"")  # a CSV truncated to nothing
    assert run_main(main, ["--run", str(run)]) == 3
    err = capsys.readouterr().err
    assert "probes.csv" in err and "Traceback" not in err
    assert not (run / "analysis").exists()


def test_hidden_temporary_tables_are_ignored(sim, tmp_path):
    """A writer killed mid-way leaves ``.name.parquet.<id>.tmp`` or a hidden dir: not an input, not an error."""
    run = tmp_path / "run"
    write_table(_transfer(sim), run / "transfer")
    (run / ".work").mkdir()
    (run / ".work" / "part.parquet").write_bytes(b"PAR1partial")
    (run / ".transfer.parquet.ab12.tmp").write_bytes(b"PAR1partial")
    found = discover_tables(run)
    assert found["path"].tolist() == ["transfer.parquet"]


def test_symlinked_run_folder_is_followed_once(sim, tmp_path):
    """A run that links in another run's subfolder (e.g. a fine-tuned grid) finds its tables; a link cycle ends."""
    other = tmp_path / "other"
    write_table(_transfer(sim), other / "grid" / "transfer")
    run = tmp_path / "run"
    write_table(_transfer(sim), run / "transfer")
    (run / "transfer-finetune").symlink_to(other / "grid", target_is_directory=True)
    (run / "loop").symlink_to(run, target_is_directory=True)  # a cycle: must not recurse forever
    found = discover_tables(run)
    assert found["path"].tolist() == ["transfer-finetune/transfer.parquet", "transfer.parquet"]


def test_bad_selection_leaves_no_output_directory(sim, tmp_path, capsys):
    run = tmp_path / "run"
    write_table(_transfer(sim), run / "transfer")
    assert run_main(main, ["--run", str(run), "--model", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err
    assert not (run / "analysis").exists() and not (run / "report.html").exists()


def test_empty_run_leaves_no_output_directory(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="No tidy table"):
        build_report(ReportConfig(run=str(run)))
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_config_error_type_is_kept(sim, tmp_path):
    run = tmp_path / "run"
    write_table(_transfer(sim), run / "transfer")
    with pytest.raises(ConfigError, match="--metric 'bleu'"):
        build_report(ReportConfig(run=str(run), metric="bleu"))
