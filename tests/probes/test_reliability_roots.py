"""Unit tests of the one-place fixes of issue 17 (run_main, YAML bounds, constraints, io, store, languages)."""

from __future__ import annotations

import errno
import json
import os
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest

from crossling.cli import MESSAGE_LIMIT, os_error, run_main
from crossling.config import (
    MAX_CONFIG_VALUES,
    Interval,
    Options,
    check_params,
    load_config,
    load_yaml,
    parse_yaml_value,
)
from crossling.errors import ConfigError, LockError, PathError, ResourceError, StoreError, short_repr
from crossling.io import DirLock, atomic_write_text, remove_owned
from crossling.languages import canonical_code, canonical_codes
from probes.extraction.store import check_manifest


# --------------------------------------------------------------------------- run_main


@pytest.mark.parametrize("exc,code", [
    (FileExistsError(errno.EEXIST, "File exists", "/o"), 8),
    (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/x"), 8),
    (PermissionError(errno.EACCES, "Permission denied", "/root/x"), 8),
    (OSError(errno.EROFS, "Read-only file system", "/ro/x"), 8),
    (OSError(errno.ELOOP, "Too many levels of symbolic links", "/loop/x"), 8),
    (OSError(errno.ENOSPC, "No space left on device", "/full/x"), 7),
    (OSError(errno.EFBIG, "File too large", "/big/x"), 7),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "/d"), 8),
])
def test_run_main_maps_os_errors(exc, code, capsys):
    def main(argv):
        raise exc

    assert run_main(main, []) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and exc.filename in err
    assert "Traceback" not in err and "rerun" in err


def test_os_error_types():
    assert isinstance(os_error(OSError(errno.ENOSPC, "x", "p")), ResourceError)
    assert isinstance(os_error(OSError(errno.EROFS, "x", "p")), PathError)


def test_run_main_caps_the_message(capsys):
    def main(argv):
        raise ConfigError("x" * 1_000_000)

    assert run_main(main, []) == 2
    err = capsys.readouterr().err
    assert len(err) < MESSAGE_LIMIT + 200 and "message cut" in err


def test_run_main_summarises_warnings(capsys):
    def main(argv):
        for i in range(50):
            warnings.warn(f"the same thing happened (item {i % 1})", RuntimeWarning, stacklevel=1)
        warnings.warn("another kind", UserWarning, stacklevel=1)
        return 0

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert run_main(main, []) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: 50 x RuntimeWarning: the same thing happened (item 0)",
                   "warning: 1 x UserWarning: another kind"]


def test_short_repr():
    assert short_repr("ab") == "'ab'"
    s = short_repr("y" * 10_000)
    assert len(s) < 160 and "10002 characters" in s


# --------------------------------------------------------------------------- YAML and constraints


def test_billion_laughs_is_refused_fast(tmp_path):
    import time

    rows = ["a: &a [l, l, l, l, l, l, l, l, l]"]
    for i, n in enumerate("bcdefghij"):
        p = "abcdefghij"[i]
        rows.append(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]")
    f = tmp_path / "c.yaml"
    f.write_text("\n".join(rows) + "\n")
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=str(MAX_CONFIG_VALUES)):
        load_yaml(f)
    assert time.perf_counter() - t0 < 2.0


def test_yaml_aliases_below_the_bound_still_work(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("base: &b {alpha: 1}\nhead_params: *b\n")
    assert load_yaml(f) == {"base": {"alpha": 1}, "head_params": {"alpha": 1}}
    assert parse_yaml_value("{a: [1, 2]}", "--set x") == {"a": [1, 2]}


def test_check_params_declared_constraints():
    spec = {"alpha": [Interval("real", 0, None, closed="left")], "warm": [Options(("joint", "prior"))],
            "cap": [Interval("int", 1, None), None]}
    check_params({"alpha": 0.0, "warm": "joint", "cap": None}, spec)
    for bad in ({"alpha": -1.0}, {"alpha": float("inf")}, {"alpha": float("nan")}, {"warm": "cold"},
                {"cap": 0}, {"cap": 2.5}, {"alpha": True}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            check_params(bad, spec)


def test_transfer_config_declares_constraints():
    from transfer.run import TransferConfig

    with pytest.raises(ConfigError, match="alpha"):
        load_config(TransferConfig, None, {"head_params": {"alpha": -0.5}})
    with pytest.raises(ConfigError, match="shots"):
        load_config(TransferConfig, None, {"shots": [0, 10**9]})
    cfg = load_config(TransferConfig, None, {"langs": "EN,deu,French"})
    assert cfg.langs == ["en", "de", "fr"]


# --------------------------------------------------------------------------- io


def test_atomic_writer_applies_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        os.umask(0o077)
        atomic_write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o600


def test_remove_owned_refuses_escapes(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (tmp_path / "store").mkdir()
    for rel in ("../victim.txt", str(victim)):
        with pytest.raises(StoreError, match="outside"):
            remove_owned(tmp_path / "store", [rel], what="manifest")
    assert victim.read_text() == "keep"


@pytest.mark.parametrize("content,age,taken", [
    ("garbage", 60.0, True), ("garbage", 0.0, False), ('{"pid": 99999999999}', 0.0, True),
    ('{"pid": -1}', 0.0, True), ('{"pid": "1"}', 60.0, True), ("[1, 2]", 60.0, True),
])
def test_lock_file_contents(tmp_path, content, age, taken):
    lock = tmp_path / ".lock"
    lock.write_text(content)
    if age:
        t = lock.stat().st_mtime - age
        os.utime(lock, (t, t))
    if taken:
        with DirLock(tmp_path):
            assert json.loads(lock.read_text())["pid"] == os.getpid()
    else:
        with pytest.raises(LockError, match="no owner"):
            DirLock(tmp_path).acquire()


# --------------------------------------------------------------------------- store, languages


@pytest.mark.parametrize("manifest,match", [
    ([1], "list"), ("x", "str"), (None, "NoneType"), ({"format": 1}, "model"),
    ({"format": 1, "model": {"name": "m"}, "groups": ["en"], "layers": [0], "dim": "4", "checksums": {}}, "dim"),
    ({"format": 1, "model": {"name": "m"}, "groups": [".."], "layers": [0], "dim": 4, "checksums": {}}, "groups"),
    ({"format": 1, "model": {"name": "m"}, "groups": ["en"], "layers": [-1], "dim": 4, "checksums": {}}, "layers"),
])
def test_check_manifest(manifest, match):
    with pytest.raises(StoreError, match=match):
        check_manifest(manifest, Path("manifest.json"))


def test_canonical_codes():
    assert canonical_code("EN") == "en" and canonical_code("deu") == "de" and canonical_code("Tur") == "tr"
    with pytest.raises(ConfigError, match="twice"):
        canonical_codes("en,eng")
    with pytest.raises(ConfigError, match="langs"):
        canonical_code("x" * 500)


def test_conllu_language_order(tmp_path):
    from probes.readers.conllu import conllu_language

    f = tmp_path / "my_en.conllu"
    f.write_text("# sent_id = 1\n1\ta\ta\tNOUN\t_\t_\t0\troot\t_\t_\n\n")
    with pytest.raises(ConfigError, match="Pass the language"):
        conllu_language(f)
    assert conllu_language(f, "English") == "en"
    f.write_text("# lang = tr\n" + f.read_text())
    assert conllu_language(f) == "tr"
    d = tmp_path / "UD_German-GSD"
    d.mkdir()
    g = d / "data.conllu"
    g.write_text("x")
    assert conllu_language(g) == "de"
    assert conllu_language(tmp_path / "fr_pud-ud-test.conllu") == "fr"
    assert conllu_language(tmp_path / "en_b.conllu") == "en"


def test_table_values_checked(tmp_path):
    import pandas as pd

    from crossling.errors import DataError
    from crossling.tables import read_table

    df = pd.DataFrame({"metric": ["accuracy", "f1", "loss"], "value": [0.5, np.nan, 7.0]})
    df.to_csv(tmp_path / "ok.csv", index=False)
    assert len(read_table(tmp_path / "ok.csv")) == 3  # NaN = missing; loss is unbounded
    for v, match in ((float("inf"), "infinite"), (-5.0, r"\[0, 1\]"), (1.5, r"\[0, 1\]")):
        df.assign(value=[v, 0.1, 1.0]).to_csv(tmp_path / "bad.csv", index=False)
        with pytest.raises(DataError, match=match):
            read_table(tmp_path / "bad.csv")
