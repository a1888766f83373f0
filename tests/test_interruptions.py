"""Interruptions and corruption: SIGKILL at random points, concurrent writers, damaged stores, a full disk.

Every command runs as a real ``python -m`` subprocess (a tiny random model from
tests/conftest.py, synthetic features for the transfer grid). Kill points are
drawn from a seeded generator, so a failure names a reproducible point.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_helpers import (
    REPO,
    CliServer,
    child_env,
    policy_problems,
    run_python_m,
)

from crossling.errors import StoreError
from probes.extraction.store import ActivationStore


def popen(module: str, args: list, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module, *map(str, args)], cwd=str(REPO), env=child_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, **kw)


def kill_when(proc: subprocess.Popen, ready, timeout: float = 240) -> bool:
    """SIGKILL ``proc`` (its whole group) once ``ready()`` is true; False if it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return False


def assert_stores_equal(a: Path, b: Path) -> None:
    sa, sb = ActivationStore(a), ActivationStore(b)
    assert sa.groups == sb.groups and sa.layers == sb.layers
    for g in sa.groups:
        for layer in sa.layers:
            np.testing.assert_array_equal(sa.words(g, layer), sb.words(g, layer))
            np.testing.assert_array_equal(sa.sentences(g, layer), sb.sentences(g, layer))
        pd.testing.assert_frame_equal(sa.word_index(g), sb.word_index(g))
        pd.testing.assert_frame_equal(sa.sentence_index(g), sb.sentence_index(g))


def temp_files(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*") if ".tmp" in p.name or p.name.endswith(".part")]


def no_partial_files(out: Path, allow_tmp: bool = False) -> list[str]:
    """Files under their final name that do not load completely (and temp files unless ``allow_tmp``).

    A SIGKILL cannot remove a temporary file; it may stay until the rerun, but
    no file under its final name may be partial.
    """
    bad = [] if allow_tmp else temp_files(out)
    def final(ps):
        # files inside a temporary directory (e.g. .shard-00003.tmp-<pid>/) are not final either
        return [p for p in ps if not any(".tmp" in part or part.startswith(".") and part != ".work"
                                         for part in p.relative_to(out).parts)]
    for p in final(out.rglob("*.npy")):
        try:
            arr = np.load(p, allow_pickle=False)
            assert arr.ndim == 2
        except (ValueError, OSError, AssertionError):
            bad.append(str(p))
    for p in final(out.rglob("*.parquet")):
        try:
            pd.read_parquet(p)
        except Exception:  # noqa: BLE001 - any failure to read means a partial file
            bad.append(str(p))
    for p in final(out.rglob("*.json")):
        try:
            json.loads(p.read_text())
        except ValueError:
            bad.append(str(p))
    return bad


# --------------------------------------------------------------------------- extraction


def extract_args(model: Path, out: Path) -> list:
    return ["--model", model, "--corpus", "sample", "--langs", "en,de,fr", "--limit", "24", "--shard-size", "4",
            "--max-tokens", "64", "--out", out, "--quiet"]


@pytest.fixture(scope="module")
def extract_ref(tiny_bert_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("interrupt") / "ref"
    r = run_python_m("probes.extract", extract_args(tiny_bert_dir, out))
    assert r.returncode == 0, r.describe()
    return out


def _progress(out: Path) -> int:
    work = out / ".work"
    return len(list(work.glob("*/shard-*"))) + 6 * len(list(work.glob("*/DONE.json")))


def test_extract_sigkill_random_points(tiny_bert_dir, extract_ref, tmp_path, record_property):
    """Kill the extraction at 3 seeded random points (18 shards in all), rerun: identical store."""
    rng = random.Random(8)
    targets = sorted(rng.sample(range(1, 18), 3))
    out = tmp_path / "killed"
    kills = []
    for t in targets:
        p = popen("probes.extract", extract_args(tiny_bert_dir, out))
        if kill_when(p, lambda t=t: _progress(out) >= t or (out / "manifest.json").exists()):
            kills.append(t)
            assert not no_partial_files(out, allow_tmp=True), no_partial_files(out, allow_tmp=True)
    r = run_python_m("probes.extract", extract_args(tiny_bert_dir, out))
    assert r.returncode == 0, r.describe()
    assert kills, "the extraction finished before any kill point"
    assert_stores_equal(extract_ref, out)
    assert not (out / ".work").exists() and not (out / ".lock").exists()
    assert not no_partial_files(out)
    record_property("category", "kill point")
    record_property("item", "probes.extract: SIGKILL after N of 18 shards, rerun, compare arrays + index")
    record_property("count", len(kills))
    record_property("detail", f"killed after {kills} shards; rerun identical to an uninterrupted run")


@pytest.mark.slow
def test_extract_sigkill_at_random_times(tiny_bert_dir, extract_ref, tmp_path, record_property):
    """Kill at seeded random times after start (model loading, encoding, assembly, manifest)."""
    rng = random.Random(3)
    out = tmp_path / "timed"
    t0 = time.monotonic()
    r = run_python_m("probes.extract", extract_args(tiny_bert_dir, tmp_path / "timing"))
    t_full = time.monotonic() - t0
    assert r.returncode == 0
    delays = sorted(rng.uniform(0.3, 1.0) * t_full for _ in range(3))
    for d in delays:
        p = popen("probes.extract", extract_args(tiny_bert_dir, out))
        start = time.monotonic()
        kill_when(p, lambda start=start, d=d: time.monotonic() - start >= d)
        assert not no_partial_files(out, allow_tmp=True) if out.exists() else True
    r = run_python_m("probes.extract", extract_args(tiny_bert_dir, out))
    assert r.returncode == 0, r.describe()
    assert_stores_equal(extract_ref, out)
    record_property("category", "kill point")
    record_property("item", "probes.extract: SIGKILL at random times after start, rerun, compare")
    record_property("count", len(delays))
    record_property("detail", "at " + ", ".join(f"{d:.1f}s" for d in delays) + f" of a {t_full:.1f}s run")


# --------------------------------------------------------------------------- transfer grid


def transfer_args(out: Path) -> list:
    return ["--features", "synthetic", "--tasks", "pos", "--langs", "en,de,fr", "--shots", "0,5,10",
            "--seeds", "0,1", "--layer", "last", "--backend", "serial", "--out", out, "--no-progress",
            "--set", "synthetic={n_train: 40, n_test: 20, words: 6, dim: 16}", "--set", "train_cap=30",
            "--set", "figures=false"]


def test_transfer_sigkill_random_points(tmp_path, record_property):
    """Kill the transfer grid (54 cells) at 3 seeded random cell counts, rerun: same table, no duplicates."""
    total = 9 * 3 * 2
    ref = tmp_path / "ref"
    r = run_python_m("transfer.run", transfer_args(ref))
    assert r.returncode == 0, r.describe()
    out = tmp_path / "killed"
    targets = sorted(random.Random(5).sample(range(2, total - 2), 3))
    kills = []

    def n_cells() -> int:
        return len(list((out / "cells").glob("*/*.json"))) if (out / "cells").is_dir() else 0

    for t in targets:
        p = popen("transfer.run", transfer_args(out))
        if kill_when(p, lambda t=t: n_cells() >= t):
            kills.append(n_cells())
            assert not no_partial_files(out, allow_tmp=True)
    assert kills, "the grid finished before any kill point"
    r = run_python_m("transfer.run", transfer_args(out))
    assert r.returncode == 0, r.describe()
    a, b = pd.read_parquet(ref / "transfer.parquet"), pd.read_parquet(out / "transfer.parquet")
    assert a["cell"].nunique() == total and not b.duplicated(["cell", "metric"]).any()
    pd.testing.assert_frame_equal(a, b)
    assert not no_partial_files(out, allow_tmp=True)
    record_property("category", "kill point")
    record_property("item", "transfer.run: SIGKILL after N of 54 cells, rerun, compare the tidy table")
    record_property("count", len(kills))
    record_property("detail", f"killed with {kills} cells on disk; rerun identical, no duplicated cell")


# --------------------------------------------------------------------------- probe training


@pytest.fixture(scope="module")
def probe_store(tiny_bert_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("probe-store") / "store"
    r = run_python_m("probes.extract", ["--model", tiny_bert_dir, "--corpus", "sample", "--langs", "en,de,fr",
                                        "--limit", "40", "--out", out, "--quiet"])
    assert r.returncode == 0, r.describe()
    return out


def train_args(store: Path, out: Path) -> list:
    return ["--activations", store, "--tasks", "upos,deprel", "--out", out, "--no-figures", "--quiet",
            "--min-examples", "20", "--seed", "0"]


def test_train_sigkill_rerun_equals_uninterrupted(probe_store, tmp_path, record_property):
    record_property("category", "kill point")
    record_property("item", "probes.train: SIGKILL at random times, rerun, compare the probe table")
    ref = tmp_path / "ref"
    t0 = time.monotonic()
    r = run_python_m("probes.train", train_args(probe_store, ref))
    t_full = time.monotonic() - t0
    assert r.returncode == 0, r.describe()
    out = tmp_path / "killed"
    delays = sorted(random.Random(11).uniform(0.3, 0.95) * t_full for _ in range(3))
    for d in delays:
        p = popen("probes.train", train_args(probe_store, out))
        start = time.monotonic()
        kill_when(p, lambda start=start, d=d: time.monotonic() - start >= d)
        assert not no_partial_files(out, allow_tmp=True) if out.exists() else True
    r = run_python_m("probes.train", train_args(probe_store, out))
    assert r.returncode == 0, r.describe()
    a, b = pd.read_parquet(ref / "probes.parquet"), pd.read_parquet(out / "probes.parquet")
    pd.testing.assert_frame_equal(a, b)
    record_property("count", len(delays))


def test_train_keeps_finished_cells_after_sigkill(probe_store, tmp_path, record_property):
    """Cells finished before a SIGKILL are kept, reused by the rerun, and the result equals a clean run."""
    record_property("category", "kill point")
    record_property("item", "probes.train: finished cells survive a SIGKILL and are reused (resumable)")
    ref = tmp_path / "ref"
    r = run_python_m("probes.train", train_args(probe_store, ref))
    assert r.returncode == 0, r.describe()
    out = tmp_path / "killed"
    p = popen("probes.train", train_args(probe_store, out))
    killed = kill_when(p, lambda: len(list((out / "cells").rglob("L*.json"))) >= 2 if (out / "cells").is_dir()
                       else False)
    assert killed, "the run finished before two cells were on disk; nothing to test"
    kept = sorted(q.name for q in (out / "cells").rglob("L*.json"))
    assert len(kept) >= 2
    assert not no_partial_files(out, allow_tmp=True)
    r = run_python_m("probes.train", train_args(probe_store, out))
    assert r.returncode == 0, r.describe()
    assert f"{len(kept)} of them reused" in r.stdout or f"{len(kept) + 1} of them reused" in r.stdout, r.stdout
    assert not temp_files(out), "the rerun left temporary files of the killed run"
    pd.testing.assert_frame_equal(pd.read_parquet(ref / "probes.parquet"), pd.read_parquet(out / "probes.parquet"))
    record_property("detail", f"killed with {len(kept)} cells on disk; rerun reused them, table identical")


def test_train_bit_flipped_cell_file_is_reported(probe_store, tmp_path, record_property):
    """A changed digit in a saved probe cell is caught by its checksum and reported by file name."""
    record_property("category", "corruption")
    record_property("item", "probes.train: bit-flipped digit in a saved cell file")
    out = tmp_path / "run"
    r = run_python_m("probes.train", train_args(probe_store, out))
    assert r.returncode == 0, r.describe()
    cell = sorted((out / "cells").rglob("L*.en.json"))[0]
    text = cell.read_text()
    i = text.index('"accuracy", ') + len('"accuracy", ')
    digit = next(k for k in range(i, len(text)) if text[k].isdigit() and text[k] != "0")
    cell.write_text(text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1:])
    r = run_python_m("probes.train", train_args(probe_store, out))
    assert r.returncode == 5, r.describe()
    assert cell.name in r.stderr and "SHA-256" in r.stderr and "Traceback" not in r.stderr, r.stderr
    record_property("detail", "exit 5, StoreError names the cell file")


# --------------------------------------------------------------------------- concurrent writers


@pytest.fixture(scope="module")
def server():
    s = CliServer(("probes.extract", "probes.train", "representations.align", "transfer.run"))
    yield s
    s.close()


@pytest.mark.parametrize("module,args", [
    ("probes.extract", lambda m, s, o: ["--model", m, "--corpus", "sample", "--langs", "en", "--limit", "2",
                                        "--out", o, "--quiet"]),
    ("probes.train", lambda m, s, o: ["--activations", s, "--tasks", "upos", "--out", o, "--quiet", "--no-figures"]),
    ("representations.align", lambda m, s, o: ["--activations", s, "--metric", "cka", "--out", o, "--no-figures",
                                               "--n-permutations", "0", "--n-bootstrap", "0"]),
    ("transfer.run", lambda m, s, o: transfer_args(o)),
], ids=["extract", "train", "align", "transfer"])
def test_second_writer_refuses(module, args, tiny_bert_dir, probe_store, tmp_path, server, record_property):
    """While a live process holds the output directory, a second command exits 6 naming the owner's pid."""
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[2]); from crossling.io import DirLock\n"
        "with DirLock(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)"), str(out), str(REPO)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        res = server.run(module, [str(a) for a in args(tiny_bert_dir, probe_store, out)])
    finally:
        holder.kill()
        holder.wait()
    problems = policy_problems(res, 6, (str(holder.pid), ".lock"))
    assert not problems, "; ".join(problems) + "\n" + res.describe()
    record_property("category", "concurrency")
    record_property("item", f"{module}: second writer of a locked output directory")
    record_property("detail", "exit 6, LockError names the owner pid and the lock file")


def test_two_extractions_at_once(tiny_bert_dir, extract_ref, tmp_path, record_property):
    """Two extractions started together into one directory: one refuses (exit 6) or reuses; never interleaves."""
    out = tmp_path / "shared"
    procs = [popen("probes.extract", extract_args(tiny_bert_dir, out)) for _ in range(2)]
    errs = []
    for p in procs:
        _, err = p.communicate(timeout=300)
        errs.append(err.decode())
    codes = sorted(p.returncode for p in procs)
    assert codes in ([0, 0], [0, 6]), (codes, errs)
    if codes == [0, 6]:
        assert any("in use by process" in e and ".lock" in e for e in errs), errs
    assert_stores_equal(extract_ref, out)
    record_property("category", "concurrency")
    record_property("item", "probes.extract: two processes started at once on one --out")
    record_property("detail", f"exit codes {codes}; the finished store equals a single run")


# --------------------------------------------------------------------------- corruption


@pytest.mark.parametrize("how", ["flip", "truncate", "delete"])
def test_store_corruption_detected(extract_ref, tmp_path, how, record_property):
    """Every array and index table of a store: damage is reported naming the file, never read as data."""
    st_dir = tmp_path / "st"
    shutil.copytree(extract_ref, st_dir)
    mf = json.loads((st_dir / "manifest.json").read_text())
    files = sorted(mf["checksums"])
    assert len(files) >= 3 * (2 * 3 + 2)
    rng = random.Random(how)
    for rel in files:
        p = st_dir / rel
        original = p.read_bytes()
        if how == "flip":
            b = bytearray(original)
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            p.write_bytes(bytes(b))
        elif how == "truncate":
            p.write_bytes(original[: rng.randrange(len(original))])
        else:
            p.unlink()
        st = ActivationStore(st_dir)
        g = rel.split("/")[1].split(".")[0]
        with pytest.raises(StoreError, match=Path(rel).name.replace(".", r"\.")):
            if rel.startswith("arrays/"):
                kind, layer = Path(rel).stem.split(".L")
                getattr(st, kind)(g, int(layer))
            elif rel.endswith(".words.parquet"):
                st.word_index(g)
            else:
                st.sentence_index(g)
        p.write_bytes(original)
    record_property("category", "corruption")
    record_property("item", f"activation store: {how} each array / index file")
    record_property("count", len(files))
    record_property("detail", "StoreError naming the file, for every file")


def test_store_manifest_damage(extract_ref, tmp_path, record_property):
    st_dir = tmp_path / "st"
    shutil.copytree(extract_ref, st_dir)
    mf = st_dir / "manifest.json"
    text = mf.read_text()
    mf.write_text(text[: len(text) // 2])
    with pytest.raises(StoreError, match="manifest.json"):
        ActivationStore(st_dir)
    mf.write_text(text.replace('"format": 1', '"format": 99'))
    with pytest.raises(StoreError, match="format"):
        ActivationStore(st_dir)
    record_property("category", "corruption")
    record_property("item", "activation store: truncated manifest, unknown format")
    record_property("count", 2)
    record_property("detail", "StoreError naming manifest.json")


def test_transfer_truncated_cell_file(tmp_path, record_property):
    """A truncated result cell is reported by name, not read as data."""
    out = tmp_path / "run"
    r = run_python_m("transfer.run", transfer_args(out))
    assert r.returncode == 0, r.describe()
    cell = sorted((out / "cells").glob("*/*.json"))[0]
    cell.write_text(cell.read_text()[:40])
    r = run_python_m("transfer.run", transfer_args(out))
    problems = policy_problems(r, 5, (cell.name,))
    assert not problems, "; ".join(problems) + "\n" + r.describe()
    record_property("category", "corruption")
    record_property("item", "transfer.run: truncated result cell file")
    record_property("count", 1)
    record_property("detail", "exit 5, StoreError naming the cell file")


def test_transfer_bit_flipped_cell_file(tmp_path, record_property):
    record_property("category", "corruption")
    record_property("item", "transfer.run: bit-flipped digit in a result cell file")
    out = tmp_path / "run"
    r = run_python_m("transfer.run", transfer_args(out))
    assert r.returncode == 0, r.describe()
    cell = sorted((out / "cells").glob("*/*.json"))[0]
    d = json.loads(cell.read_text())
    text = cell.read_text()
    v = repr(d["rows"][0]["value"])
    flipped = v[:-1] + ("1" if v[-1] != "1" else "2")
    cell.write_text(text.replace(v, flipped, 1))
    r = run_python_m("transfer.run", transfer_args(out))
    assert r.returncode == 5 and cell.name in r.stderr, r.describe()


# --------------------------------------------------------------------------- full disk


def _limit(nbytes: int):
    def pre() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return pre


@pytest.mark.parametrize("limit_kb", [
    3, 20])
def test_full_disk_extraction(limit_kb, tiny_bert_dir, extract_ref, tmp_path, record_property):
    """RLIMIT_FSIZE (the file-size limit of ``ulimit -f``) ends extraction with exit 7 and only complete files."""
    record_property("category", "full disk")
    record_property("item", f"probes.extract under a {limit_kb} KiB file-size limit (RLIMIT_FSIZE)")
    out = tmp_path / "full"
    cmd = [sys.executable, "-m", "probes.extract", *map(str, extract_args(tiny_bert_dir, out))]
    r = subprocess.run(cmd, cwd=str(REPO), env=child_env(), capture_output=True, text=True, timeout=300, check=False,
                       preexec_fn=_limit(limit_kb * 1024))
    from reliability_helpers import CliResult

    res = CliResult(cmd, r.returncode, r.stdout, r.stderr)
    problems = policy_problems(res, 7, ("file-size limit", "rerun"))
    assert not problems, "; ".join(problems) + "\n" + res.describe()
    assert not no_partial_files(out), no_partial_files(out)
    assert not (out / "manifest.json").exists()
    # with the limit lifted, the same command resumes and finishes
    r2 = run_python_m("probes.extract", extract_args(tiny_bert_dir, out))
    assert r2.returncode == 0, r2.describe()
    assert_stores_equal(extract_ref, out)
    record_property("count", 1)
    record_property("detail", "exit 7 (ResourceError), no partial or temp file, rerun completes identically")


def test_transfer_rerun_removes_stale_temp_files(tmp_path, record_property):
    record_property("category", "kill point")
    record_property("item", "transfer.run: a rerun removes temp files left by a SIGKILL")
    out = tmp_path / "run"
    r = run_python_m("transfer.run", transfer_args(out))
    assert r.returncode == 0, r.describe()
    cell = sorted((out / "cells").glob("*/*.json"))[0]
    stale = cell.with_name(f".{cell.name}.abc123.tmp")
    stale.write_text('{"hash": "partial')  # what a SIGKILL during atomic_write_json leaves
    cell.unlink()
    r = run_python_m("transfer.run", transfer_args(out))
    assert r.returncode == 0, r.describe()
    assert not temp_files(out), temp_files(out)
