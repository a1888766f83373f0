"""``probes.extract --backend ray`` on a real local Ray cluster started by the tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from crossling.errors import ConfigError
from probes.extract import ExtractConfig, extract_sentences
from probes.extraction.store import ActivationStore
from crossling.types import Sentence, Word

REPO = Path(__file__).resolve().parents[2]
WORDS = "the cat sleeps on a warm mat while two dogs bark loudly outside near an old red barn".split()


def _sent(sid: str, lang: str, n: int, shift: int) -> Sentence:
    text, ws = "", []
    for i in range(n):
        w = WORDS[(i + shift) % len(WORDS)]
        if i:
            text += " "
        ws.append(Word(id=i + 1, form=w, span=(len(text), len(text) + len(w)), upos="NOUN",
                       head=0 if i == 0 else 1, deprel="root" if i == 0 else "dep", feats={}))
        text += w
    return Sentence(sid, lang, text, ws)


def _groups(n_sents: int) -> dict[str, list[Sentence]]:
    return {lang: [_sent(f"{lang}{i}", lang, 3 + (i * 7 + j) % 11, i + j) for i in range(n_sents)]
            for j, lang in enumerate(("en", "de", "fr"))}


def _local(spec: str, groups: dict, out: Path, **kw) -> None:
    """A local extraction on one torch thread, as each Ray worker runs (CPU kernels round by thread count)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        extract_sentences(spec, groups, out, **kw)
    finally:
        torch.set_num_threads(n)


def _same_store(a: Path, b: Path) -> None:
    sa, sb = ActivationStore(a), ActivationStore(b)
    assert sa.groups == sb.groups and sa.layers == sb.layers
    for g in sa.groups:
        for layer in sa.layers:
            np.testing.assert_array_equal(sa.words(g, layer), sb.words(g, layer))
            np.testing.assert_array_equal(sa.sentences(g, layer), sb.sentences(g, layer))
        assert sa.word_index(g).equals(sb.word_index(g))
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    assert ma["checksums"] == mb["checksums"] and ma["plan"] == mb["plan"] and ma["config"] == mb["config"]


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    # Ray runs its workers at niceness 15: on a loaded machine they would wait behind everything else
    old = os.environ.get("RAY_worker_niceness")
    os.environ["RAY_worker_niceness"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    if old is None:
        os.environ.pop("RAY_worker_niceness", None)
    else:
        os.environ["RAY_worker_niceness"] = old


def test_backend_is_validated():
    with pytest.raises(ConfigError, match="'backend' parameter must be one of"):
        ExtractConfig(backend="dask").validate()
    with pytest.raises(ConfigError, match="'workers' parameter"):
        ExtractConfig(backend="ray", workers=0).validate()


@pytest.mark.integration
def test_ray_store_identical_to_local(ray_cluster, tiny_bert_dir, tmp_path):
    groups = _groups(9)
    kw = dict(layers="all", shard_size=4, progress=False)
    _local(str(tiny_bert_dir), groups, tmp_path / "local", **kw)
    extract_sentences(str(tiny_bert_dir), groups, tmp_path / "ray", backend="ray", workers=2, **kw)
    assert ray_cluster.is_initialized()  # a cluster the run did not start is left running
    _same_store(tmp_path / "local", tmp_path / "ray")
    assert not (tmp_path / "ray" / ".work").exists()


def _worker_pids() -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if b"_ShardWorker" in (p / "cmdline").read_bytes():
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the Ray worker processes in /proc")
def test_killed_worker_is_restarted_and_store_identical(ray_cluster, tiny_bert_dir, tmp_path):
    groups = _groups(40)
    kw = dict(layers="all", shard_size=2, progress=False)
    _local(str(tiny_bert_dir), groups, tmp_path / "local", **kw)
    out = tmp_path / "ray"
    err: list[BaseException] = []

    def job() -> None:
        try:
            extract_sentences(str(tiny_bert_dir), groups, out, backend="ray", workers=2, **kw)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            err.append(exc)

    t = threading.Thread(target=job)
    t.start()
    killed, deadline = None, time.time() + 120
    while t.is_alive() and time.time() < deadline and killed is None:
        if len(list(out.glob(".work/*/shard-*"))) >= 3:  # workers are running, shards remain
            pids = _worker_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed = len(list(out.glob(".work/*/shard-*")))
        time.sleep(0.01)
    t.join(300)
    assert killed is not None and killed < 60, "no worker was killed while shards remained"
    assert not err, err
    _same_store(tmp_path / "local", out)


@pytest.mark.integration
@pytest.mark.slow
def test_cli_ray_backend_starts_its_own_ray(tiny_mt5_dir, tmp_path):
    pytest.importorskip("ray")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "probes.extract", "--model", str(tiny_mt5_dir), "--corpus", "sample",
            "--langs", "en,zh", "--limit", "6", "--shard-size", "2", "--quiet"]
    for name, extra in (("local", ["--threads", "1"]), ("ray", ["--backend", "ray", "--workers", "2"])):
        r = subprocess.run(base + ["--out", str(tmp_path / name), *extra], capture_output=True, text=True,
                           cwd=REPO, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
    _same_store(tmp_path / "local", tmp_path / "ray")
