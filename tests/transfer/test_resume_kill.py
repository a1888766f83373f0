"""A run killed with SIGKILL resumes where it stopped: nothing lost, nothing duplicated."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def _cmd(out: Path, backend: str) -> list[str]:
    return [sys.executable, "-m", "transfer.run", "--features", "synthetic", "--tasks", "pos",
            "--langs", "en,de,fr,es", "--shots", "0,2,5,10,20", "--seeds", "0,1", "--layer", "last",
            "--backend", backend, "--workers", "2", "--out", str(out), "--no-progress",
            "--set", "synthetic={n_train: 60, n_test: 30, words: 8, dim: 24}", "--set", "train_cap=40",
            "--set", "figures=false"]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _kill_after(cmd: list[str], out: Path, n: int, timeout: float) -> int:
    """Start ``cmd``, SIGKILL its process group once ``out/cells`` holds ``n`` cell files; return the count then."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cells = out / "cells"
    n_at_kill = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            n_at_kill = len(list(cells.glob("*/*.json"))) if cells.is_dir() else 0
            if n_at_kill >= n:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    return n_at_kill


def test_resume_after_sigkill(tmp_path):
    total = 16 * 5 * 2
    killed = tmp_path / "killed"
    cells = killed / "cells"
    n_at_kill = _kill_after(_cmd(killed, "serial"), killed, 30, 240)
    assert 30 <= n_at_kill < total, n_at_kill
    assert not (killed / "transfer.parquet").exists()
    # no partial cell file: every cell file parses
    for p in cells.glob("*/*.json"):
        assert p.read_text().endswith("}\n")
    # resume (the stale lock of the dead process is taken over)
    r = subprocess.run(_cmd(killed, "serial"), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{total} cells" in r.stderr
    done_before = int(r.stderr.split(" already done")[0].rsplit(", ", 1)[1])
    assert done_before >= n_at_kill
    ref = tmp_path / "ref"
    r2 = subprocess.run(_cmd(ref, "process"), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0, r2.stderr[-2000:]
    a = pd.read_parquet(killed / "transfer.parquet")
    b = pd.read_parquet(ref / "transfer.parquet")
    assert a["cell"].nunique() == total
    assert not a.duplicated(["cell", "metric"]).any()
    pd.testing.assert_frame_equal(a, b)


def _ft_cmd(out: Path, model: Path, data: Path) -> list[str]:
    return [sys.executable, "-m", "transfer.run", "--regime", "finetune", "--model", str(model),
            "--data-dir", str(data), "--tasks", "pos", "--langs", "en,de,fr", "--shots", "0,2", "--seeds", "0",
            "--backend", "serial", "--out", str(out), "--no-progress", "--set", "train_cap=10",
            "--set", "test_cap=6", "--set", "figures=false",
            "--set", "finetune={top_n: 1, min_steps: 4, fewshot_min_steps: 2, batch_size: 4, eval_every: 2, "
                     "max_length: 48, device: cpu}"]


@pytest.mark.slow
def test_finetune_resume_after_sigkill(tmp_path, tiny_bert_dir, xtreme_dir):
    """The finetune regime (a real transformers model, top-N cache) resumes after SIGKILL with the same table."""
    total = 3 * 3 * 2
    killed = tmp_path / "killed"
    n_at_kill = _kill_after(_ft_cmd(killed, tiny_bert_dir, xtreme_dir), killed, 6, 300)
    assert 6 <= n_at_kill < total, n_at_kill
    r = subprocess.run(_ft_cmd(killed, tiny_bert_dir, xtreme_dir), cwd=REPO, env=_env(), capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert " already done" in r.stderr
    ref = tmp_path / "ref"
    r2 = subprocess.run(_ft_cmd(ref, tiny_bert_dir, xtreme_dir), cwd=REPO, env=_env(), capture_output=True,
                        text=True, timeout=600)
    assert r2.returncode == 0, r2.stderr[-2000:]
    a = pd.read_parquet(killed / "transfer.parquet").sort_values(["cell", "metric"]).reset_index(drop=True)
    b = pd.read_parquet(ref / "transfer.parquet").sort_values(["cell", "metric"]).reset_index(drop=True)
    assert a["cell"].nunique() == total and not a.duplicated(["cell", "metric"]).any()
    assert list(a["cell"]) == list(b["cell"])
    pd.testing.assert_series_equal(a["value"], b["value"], rtol=1e-6, atol=1e-6)


def _session_pids(sid: int) -> list[int]:
    """Live processes of session ``sid`` (from /proc: field 6 of ``stat`` is the session id)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(d.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc to list the workers")
def test_sigterm_to_the_parent_stops_the_process_workers(tmp_path):
    """kill PID (SIGTERM to the parent only) must not leave the process backend's workers running its batches."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "transfer.run", "--features", "synthetic", "--tasks", "pos",
           "--langs", "en,de,fr,es", "--shots", "0,2,5,10,20,50,100", "--seeds", "0,1,2", "--layer", "last",
           "--backend", "process", "--workers", "2", "--out", str(out), "--no-progress",
           "--set", "synthetic={n_train: 3000, n_test: 3000, words: 20, dim: 256}", "--set", "figures=false"]
    log = tmp_path / "stderr.txt"
    with log.open("wb") as fh:  # a file, not a pipe: orphaned workers would hold a pipe open
        proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=fh)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if len(_session_pids(proc.pid)) >= 3 and (out / "cells").is_dir() and any((out / "cells").glob("*/*.json")):
                break  # the workers run batches
            time.sleep(0.05)
        assert proc.poll() is None, "the grid ended before it could be terminated; make it larger"
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        left = _session_pids(proc.pid)
        for _ in range(40):  # terminated workers may take a moment to be reaped
            if not left:
                break
            time.sleep(0.05)
            left = _session_pids(proc.pid)
        assert not left, f"worker processes still running after the parent was terminated: {left}"
        err = log.read_text()
        assert proc.returncode == 130, err[-2000:]
        assert "interrupted" in err and "Traceback" not in err
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=60)
