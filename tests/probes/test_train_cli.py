"""End-to-end tests of ``python -m probes.train`` on a real store.

The store is extracted with the suite's extractor from the bundled CoNLL-U
sample (parallel sentences in de/en/fr) through a tiny random BERT.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from crossling.cli import run_main
from probes.readers.conllu import read_conllu
from probes.extract import extract_sentences
from probes.models import load_model
from probes.extraction.store import ActivationStore
from probes.train import COLUMNS, TrainConfig, main, train_grid

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "probes" / "data" / "sample"
LANGS = ("de", "en", "fr")


@pytest.fixture(scope="module")
def store_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    groups = {lang: read_conllu(SAMPLE / f"{lang}.conllu", lang) for lang in LANGS}
    out = tmp_path_factory.mktemp("store") / "sample-tiny"
    extract_sentences(load_model(str(tiny_bert_dir)), groups, out, progress=False)
    return out


@pytest.fixture(scope="module")
def grid(store_dir, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("probes-out")
    cfg = out / "small.yaml"
    cfg.write_text("mlp_epochs: 3\narc_steps: 30\nthreads: 1\n")
    code = run_main(main, ["--config", str(cfg), "--activations", str(store_dir), "--out", str(out), "--tasks",
                           "upos,deprel,morph:all,tree-depth,head-distance,arc,language-id", "--layers", "all",
                           "--probe", "linear,mlp", "--control", "--mdl", "--cross-lingual", "--min-examples", "10",
                           "--quiet"])
    assert code == 0
    return out, pd.read_parquet(out / "probes.parquet")


def test_outputs_written(grid, store_dir):
    out, df = grid
    assert list(df.columns) == list(COLUMNS)
    csv = pd.read_csv(out / "probes.csv")
    assert len(csv) == len(df)
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["activations"] == str(store_dir) and cfg["control"] is True
    st = ActivationStore(store_dir)
    assert set(df["model"]) == {st.model}
    assert set(df["layer"]) == set(st.layers)
    assert (out / "skipped.csv").is_file()
    figs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert any(f.startswith("by_layer_upos") for f in figs) and any(f.startswith("heatmap_upos") for f in figs)


def test_metrics_present_and_in_range(grid):
    _, df = grid
    upos = df[(df.task == "upos") & (df.train_lang == df.test_lang)]
    for metric in ("accuracy", "macro_f1", "control_accuracy", "selectivity", "mdl_codelength", "compression"):
        assert metric in set(upos.metric), metric
    acc = df[df.metric.isin(["accuracy", "macro_f1", "control_accuracy", "uas"])].value
    assert acc.between(0, 1).all()
    assert set(df[df.task == "upos"].probe) >= {"linear", "mlp", "majority"}
    assert {"r2", "spearman", "control_r2"} <= set(df[df.task == "tree-depth"].metric)
    assert "uas" in set(df[df.task == "arc"].metric)
    lid = df[df.task == "language-id"]
    assert set(lid.lang) == {"all"} and lid[lid.metric == "accuracy"].value.notna().all()
    # selectivity is accuracy minus control accuracy, row by row
    piv = upos[upos.probe == "linear"].pivot_table(index=["layer", "lang"], columns="metric", values="value")
    np.testing.assert_allclose(piv["selectivity"], piv["accuracy"] - piv["control_accuracy"], atol=1e-9)


def test_cross_lingual_matrix(grid):
    _, df = grid
    x = df[(df.task == "upos") & (df.metric == "accuracy") & (df.probe == "linear")]
    pairs = set(zip(x.train_lang, x.test_lang))
    assert pairs == {(a, b) for a in LANGS for b in LANGS}
    assert (x[x.train_lang != x.test_lang].lang == x[x.train_lang != x.test_lang].test_lang).all()


def test_split_by_sentence_id_is_shared(store_dir):
    from probes.probing import sentences_from_index
    from probes.train import split_of

    st = ActivationStore(store_dir)
    parts = {}
    for lang in LANGS:
        ss = sentences_from_index(st.word_index(lang), lang)
        parts[lang] = dict(zip([s.sent_id for s in ss], split_of([s.sent_id for s in ss], (0.7, 0.1, 0.2), 0)))
    assert parts["de"] == parts["en"] == parts["fr"]
    assert set(parts["de"].values()) == {0, 1, 2}


def test_reproducible(store_dir):
    cfg = TrainConfig(activations=str(store_dir), tasks=["upos", "morph:Number"], layers="0,2", control=True,
                      probe=["linear", "mlp"], min_examples=10, figures=False, mlp_epochs=2, threads=1)
    a = train_grid(cfg, progress=False)
    b = train_grid(cfg, progress=False)
    pd.testing.assert_frame_equal(a, b)


def test_bad_task_is_one_line_error(store_dir, tmp_path, capsys):
    code = run_main(main, ["--activations", str(store_dir), "--out", str(tmp_path), "--tasks", "upso", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "Unknown probe task 'upso'" in err and "Did you mean 'upos'" in err and "\n" not in err


def test_missing_store_is_a_store_error(tmp_path, capsys):
    code = run_main(main, ["--activations", str(tmp_path / "nope"), "--quiet"])
    assert code == 5
    assert "does not exist" in capsys.readouterr().err


def test_bad_values_are_config_errors(store_dir, tmp_path, capsys):
    code = run_main(main, ["--activations", str(store_dir), "--quiet", "--C", "-1"])
    assert code == 2
    assert "'C' parameter must be a finite number > 0" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("split: [0.5, 0.5, 0.5]\n")
    code = run_main(main, ["--config", str(bad), "--activations", str(store_dir), "--quiet"])
    assert code == 2
    assert "split must be three fractions" in capsys.readouterr().err
    bad.write_text("prob: mlp\n")
    code = run_main(main, ["--config", str(bad), "--activations", str(store_dir), "--quiet"])
    assert code == 2
    assert "Did you mean 'probe'" in capsys.readouterr().err


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "probes.train", "--help"], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "--cross-lingual" in r.stdout


def test_cells_are_independent_and_resumed(store_dir, tmp_path):
    """A grid run layer by layer into one --out reuses the finished cells and equals the one-shot grid."""
    kw = dict(activations=str(store_dir), tasks=["upos", "deprel"], cross_lingual=True, min_examples=10,
              figures=False)
    full = train_grid(TrainConfig(layers="all", **kw), progress=False)
    out = tmp_path / "out"
    stats: dict[str, int] = {}
    first = train_grid(TrainConfig(layers="1", **kw), progress=False, out=out, stats=stats)
    assert stats == {"cells": 3, "reused": 0}
    pd.testing.assert_frame_equal(first, full[full.layer == 1].reset_index(drop=True))
    again = train_grid(TrainConfig(layers="all", **kw), progress=False, out=out, stats=stats)
    assert stats["reused"] == 3 and stats["cells"] == 3 * len(ActivationStore(store_dir).layers)
    pd.testing.assert_frame_equal(again, full)
    # the saved linear probe reproduces the cell's in-language predictions
    npz = sorted((out / "cells").rglob("L001.en.npz"))
    assert len(npz) == 1
    with np.load(npz[0], allow_pickle=False) as z:
        assert sorted(z["names"]) == ["deprel", "upos"] and z["W"].shape[0] == ActivationStore(store_dir).dim


def test_other_settings_use_other_cells(store_dir, tmp_path):
    out = tmp_path / "out"
    kw = dict(activations=str(store_dir), tasks=["upos"], layers="1", min_examples=10, figures=False)
    a = train_grid(TrainConfig(C=[1.0], **kw), progress=False, out=out)
    stats: dict[str, int] = {}
    b = train_grid(TrainConfig(C=[0.01], **kw), progress=False, out=out, stats=stats)
    assert stats["reused"] == 0
    assert len(list((out / "cells").iterdir())) == 2  # one plan directory per setting
    acc = lambda d: d[(d.metric == "accuracy") & (d.probe == "linear")].value.to_numpy()  # noqa: E731
    assert not np.array_equal(acc(a), acc(b))


# --------------------------------------------------------------------------- plug-ins, dry run, flags (issue 19)

PLUGIN = '''
"""A probe task and a probe-task kind written outside the repository."""
import numpy as np

from probes.probing import ProbeTask, TaskKind


class CentroidKind(TaskKind):
    """String labels, scored by a nearest-centroid classifier on the standardised features."""

    def vocabulary(self, task, labels):
        return sorted({str(v) for r in labels.values() for v in r if v is not None})

    def encode(self, labels, vocab):
        lut = {v: i for i, v in enumerate(vocab)}
        return np.array([-1 if v is None else lut[str(v)] for v in labels], dtype=np.int64)

    def check(self, td, y_train, vocab):
        return "" if len(np.unique(y_train)) > 1 else "one class"

    def fit(self, cell, names):
        inp = cell.inp
        for n in names:
            y = cell.ld.tasks[n].y
            ytr, yte = y[cell.tr], y[cell.te]
            classes = np.unique(ytr[ytr >= 0])
            cent = np.stack([inp.Xtr[ytr == c].mean(axis=0) for c in classes])
            dist = ((inp.Xte[:, None, :] - cent[None]) ** 2).sum(-1)
            pred = classes[dist.argmin(axis=1)]
            m = yte >= 0
            cell.rows.add(cell.layer, cell.lang, n, "centroid", "accuracy", float((pred[m] == yte[m]).mean()),
                          int((ytr >= 0).sum()), int(m.sum()))


class IsCapitalised(ProbeTask):
    kind = "my_probe_plugin:CentroidKind"
    label_set = ("no", "yes")

    def labels(self, sentence):
        return ["yes" if w.form[:1].isupper() else "no" for w in sentence.words]
'''


def test_task_and_kind_from_a_module_outside_the_repository(store_dir, tmp_path):
    """A new probe task and a new task kind, each one class in a user's module, run from the command line."""
    import os

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "my_probe_plugin.py").write_text(PLUGIN)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(plugins)])}
    r = subprocess.run([sys.executable, "-m", "probes.train", "--activations", str(store_dir), "--out", str(out),
                        "--tasks", "upos,my_probe_plugin:IsCapitalised", "--layers", "0,2", "--min-examples", "5",
                        "--no-figures", "--quiet", "--threads", "1"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    df = pd.read_parquet(out / "probes.parquet")
    mine = df[df.task == "my_probe_plugin:IsCapitalised"]
    assert set(mine.probe) == {"centroid"} and set(mine.metric) == {"accuracy"}
    assert set(zip(mine.layer, mine.lang)) == {(layer, lang) for layer in (0, 2) for lang in LANGS}
    assert mine.value.between(0, 1).all() and (mine.n_test > 0).all()
    assert {"linear", "majority"} <= set(df[df.task == "upos"].probe)  # the built-in kinds run beside it


def test_registered_kind_in_process(store_dir):
    """register_kind + register_task: the grid fits the new kind's tasks, the other kinds are unchanged."""
    import numpy as np

    from probes.probing import (
        KINDS,
        TASKS,
        ProbeTask,
        TaskKind,
        register_kind,
        register_task,
    )

    @register_kind("test-mean", overwrite=True)
    class MeanKind(TaskKind):
        missing = float("nan")
        has_control = False

        def encode(self, labels, vocab):
            return np.array([np.nan if v is None else float(v) for v in labels])

        def labelled(self, y):
            return np.isfinite(y)

        def fit(self, cell, names):
            for n in names:
                y = cell.ld.tasks[n].y
                cell.rows.add(cell.layer, cell.lang, n, "mean", "train_mean", float(np.nanmean(y[cell.tr])),
                              int(np.isfinite(y[cell.tr]).sum()), 0)

    @register_task("test-word-length", overwrite=True)
    class WordLength(ProbeTask):
        kind = "test-mean"

        def labels(self, sentence):
            return [float(len(w.form)) for w in sentence.words]

    try:
        cfg = TrainConfig(activations=str(store_dir), tasks=["upos", "test-word-length"], layers="1",
                          min_examples=5, control=True, figures=False, threads=1)
        df = train_grid(cfg, progress=False)
        mine = df[df.task == "test-word-length"]
        assert set(mine.metric) == {"train_mean"} and set(mine.lang) == set(LANGS)
        assert (mine.value > 1).all()
        assert "selectivity" in set(df[df.task == "upos"].metric)  # controls of the other kinds still run
    finally:
        KINDS._items.pop("test-mean", None)
        TASKS._items.pop("test-word-length", None)


def test_every_registered_kind_implements_the_interface():
    from probes.probing import KINDS, TaskKind, get_kind

    assert {"classification", "regression", "arc"} <= set(KINDS)
    for name in KINDS:
        kind = get_kind(name)
        assert isinstance(kind, TaskKind) and kind.name == name
        for method in ("encode", "fit"):
            assert getattr(type(kind), method) is not getattr(TaskKind, method), (name, method)


def test_unknown_kind_lists_the_kinds():
    from crossling.errors import ConfigError
    from probes.probing import ProbeTask, register_task

    with pytest.raises(ConfigError, match="kind 'nope'.*arc, classification, regression"):
        @register_task("test-bad-kind")
        class Bad(ProbeTask):
            kind = "nope"


def test_dry_run_prints_config_and_grid_and_writes_nothing(store_dir, tmp_path, capsys):
    out = tmp_path / "never"
    code = run_main(main, ["--activations", str(store_dir), "--out", str(out), "--tasks", "upos", "--layers", "0-1",
                           "--dry-run"])
    assert code == 0
    text = capsys.readouterr().out
    doc = yaml.safe_load("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))
    assert doc["out"] == str(out) and doc["layers"] == "0-1" and doc["tasks"] == ["upos"]
    assert f"{len(LANGS)} languages x 2 layers = {2 * len(LANGS)} cells" in text
    assert not out.exists()
    # no --out: the resolved config names the default, never null
    run_main(main, ["--activations", str(store_dir), "--dry-run"])
    doc = yaml.safe_load("\n".join(ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("#")))
    assert doc["out"] == str(store_dir / "probes")


def test_flag_spellings_of_0_1_still_parse(store_dir):
    from probes.train import parse_config

    cfg, _ = parse_config(["--activations", str(store_dir), "--layer", "0,2", "--langs", "en,de", "--no-figures",
                           "--C", "0.5,1", "--quiet", "--cross-lingual", "--probe", "linear,mlp", "--seed", "3",
                           "--min-examples", "7", "--tol", "1e-3", "--max-iter", "50", "--workers", "1",
                           "--set", "arc_rank=8"])
    assert (cfg.layers, cfg.langs, cfg.figures, cfg.C, cfg.progress) == ("0,2", ["en", "de"], False, [0.5, 1.0], False)
    assert (cfg.cross_lingual, cfg.probe, cfg.seed, cfg.min_examples, cfg.tol, cfg.max_iter, cfg.arc_rank) == \
        (True, ["linear", "mlp"], 3, 7, 1e-3, 50, 8)
    assert cfg.out == str(Path(store_dir) / "probes")
    cfg2, _ = parse_config(["--activations", str(store_dir), "--languages", "fr", "--layers", "1"])
    assert (cfg2.langs, cfg2.layers, cfg2.progress) == (["fr"], "1", True)
