"""Untrusted files are never executed: pickles, YAML tags, remote code, archive members, checksums.

A static scan pins the dangerous calls out of the code base; each guarded path
is then attacked with a file whose payload would create a marker file if it
ran, and the test checks that the suite refuses it and the marker never appears.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from crossling.config import load_config, load_yaml
from probes.datasets import check_archive, extract_archive, fetch
from crossling.errors import DataError, SuiteError
from probes.extract import ExtractConfig

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("probes", "representations", "transfer", "analysis", "bench")

# (pattern, why it is dangerous); a line may carry "# untrusted-ok: <reason>" to be exempt.
DANGEROUS = [
    (r"\bpickle\.loads?\(|\bcPickle\b|\bdill\.load|\bjoblib\.load\(", "unpickling executes code"),
    (r"\btorch\.load\((?![^)]*weights_only\s*=\s*True)", "torch.load without weights_only=True unpickles"),
    (r"\byaml\.(?:load|load_all|unsafe_load|full_load)\(|Loader\s*=\s*yaml\.(?:Loader|UnsafeLoader|FullLoader)",
     "YAML loaders other than safe_load construct Python objects"),
    (r"trust_remote_code\s*=\s*True", "runs code shipped with a checkpoint"),
    (r"\.extractall\(|shutil\.unpack_archive\(", "archive extraction without member checks"),
    (r"allow_pickle\s*=\s*True", "np.load of object arrays unpickles"),
    (r"(?<![\w.])(?:eval|exec)\(", "evaluates strings as code"),
]


def _sources() -> list[Path]:
    out = []
    for pkg in PACKAGES:
        out += sorted((REPO / pkg).rglob("*.py"))
    return out


def test_no_dangerous_calls_in_the_code_base(record_property):
    hits = []
    files = _sources()
    for p in files:
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if "untrusted-ok" in line:
                continue
            code = line.split("#", 1)[0]
            for pat, why in DANGEROUS:
                if re.search(pat, code):
                    hits.append(f"{p.relative_to(REPO)}:{i}: {why}: {line.strip()}")
    record_property("category", "untrusted file")
    record_property("item", "static scan: pickle, torch.load, yaml.load, trust_remote_code, extractall, eval")
    record_property("count", len(files))
    record_property("detail", f"{len(files)} source files, {len(hits)} hits")
    assert not hits, "\n".join(hits)


class _Payload:
    """Unpickling this creates ``path`` (via os.system-free builtins.open)."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').write('pwned')",))


# --------------------------------------------------------------------------- YAML


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:builtins.exec [\"open('{m}', 'w').write('x')\"]",
    "!!python/object/new:builtins.exec [\"open('{m}', 'w').write('x')\"]",
    "!!python/name:os.system",
    "!!python/object:probes.extract.ExtractConfig {{model: x}}",
])
def test_yaml_python_tags_rejected(tag, tmp_path, record_property):
    marker = tmp_path / "marker"
    p = tmp_path / "c.yaml"
    p.write_text("model: " + tag.format(m=marker) + "\n")
    with pytest.raises(SuiteError, match="c.yaml"):
        load_yaml(p)
    with pytest.raises(SuiteError):
        load_config(ExtractConfig, p)
    assert not marker.exists()
    record_property("category", "untrusted file")
    record_property("item", "YAML config with a python/* tag")
    record_property("detail", "ConfigError naming the file; payload not run")


# --------------------------------------------------------------------------- checkpoints


def _evil_checkpoint(tiny_bert_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    ck = tmp_path / "evil-ckpt"
    ck.mkdir()
    for f in tiny_bert_dir.iterdir():
        if not f.name.endswith(".safetensors"):
            shutil.copy(f, ck / f.name)
    marker = tmp_path / "marker"
    with open(ck / "pytorch_model.bin", "wb") as fh:
        pickle.dump({"embeddings.word_embeddings.weight": _Payload(marker)}, fh)
    return ck, marker


def test_pickled_checkpoint_is_not_executed(tiny_bert_dir, tmp_path, record_property):
    """A checkpoint whose only weights file is a malicious pickle (pytorch_model.bin): the payload never runs."""
    from probes.models import load_model

    ck, marker = _evil_checkpoint(tiny_bert_dir, tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - which error is pinned by the next test
        load_model(str(ck))
    assert not marker.exists(), "the pickle payload ran"
    record_property("category", "untrusted file")
    record_property("item", "model checkpoint with a malicious pytorch_model.bin pickle")
    record_property("detail", "refused by torch.load(weights_only=True); payload not run")


def test_pickled_checkpoint_is_a_model_error(tiny_bert_dir, tmp_path, record_property):
    from probes.models import load_model

    record_property("category", "untrusted file")
    record_property("item", "malicious pytorch_model.bin is reported as ModelError (exit 4)")
    ck, _ = _evil_checkpoint(tiny_bert_dir, tmp_path)
    with pytest.raises(SuiteError, match="evil-ckpt"):
        load_model(str(ck))


def test_remote_code_is_never_trusted(tiny_bert_dir, tmp_path, record_property):
    """A checkpoint whose config asks for custom modelling code: the code is never imported."""
    from probes.models import load_model

    ck = tmp_path / "remote-code"
    shutil.copytree(tiny_bert_dir, ck)
    marker = tmp_path / "marker"
    (ck / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n"
                                         "from transformers import BertModel as EvilModel\n")
    (ck / "configuration_evil.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n"
                                              "from transformers import BertConfig as EvilConfig\n")
    cfg = json.loads((ck / "config.json").read_text())
    cfg["auto_map"] = {"AutoConfig": "configuration_evil.EvilConfig", "AutoModel": "modeling_evil.EvilModel"}
    (ck / "config.json").write_text(json.dumps(cfg))
    try:
        load_model(str(ck))
    except SuiteError:
        pass
    assert not marker.exists(), "custom code shipped with the checkpoint was imported"
    record_property("category", "untrusted file")
    record_property("item", "checkpoint with auto_map custom code (trust_remote_code)")
    record_property("detail", "custom code never imported")


def test_store_object_array_is_not_unpickled(tmp_path, record_property):
    """An activation-store array replaced by a pickled object array (with a matching checksum) is refused."""
    from crossling.io import sha256_file
    from probes.extraction.store import ActivationStore

    st = tmp_path / "st"
    (st / "arrays" / "en").mkdir(parents=True)
    marker = tmp_path / "marker"
    arr = np.empty((1, 1), dtype=object)
    arr[0, 0] = _Payload(marker)
    rel = "arrays/en/words.L0.npy"
    np.save(st / rel, arr, allow_pickle=True)
    (st / "manifest.json").write_text(json.dumps({
        "format": 1, "model": {"name": "m"}, "groups": ["en"], "layers": [0], "dim": 1,
        "checksums": {rel: sha256_file(st / rel)}}))
    with pytest.raises(SuiteError, match="words.L0.npy"):
        ActivationStore(st).words("en", 0)
    assert not marker.exists()
    record_property("category", "untrusted file")
    record_property("item", "activation store array holding a pickled object")
    record_property("detail", "StoreError; np.load(allow_pickle=False)")


# --------------------------------------------------------------------------- archives


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes], link: tuple[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo(link[0])
            info.type = tarfile.SYMTYPE
            info.linkname = link[1]
            t.addfile(info)
    return path


ARCHIVES = {
    "zip-dotdot": lambda d: _zip(d / "a.zip", {"ok.txt": b"x", "../escaped.txt": b"evil"}),
    "zip-nested-dotdot": lambda d: _zip(d / "a.zip", {"data/../../escaped.txt": b"evil"}),
    "zip-absolute": lambda d: _zip(d / "a.zip", {str(d / "escaped.txt"): b"evil"}),
    "zip-windows-drive": lambda d: _zip(d / "a.zip", {"C:/escaped.txt": b"evil"}),
    "zip-backslash-dotdot": lambda d: _zip(d / "a.zip", {"..\\escaped.txt": b"evil"}),
    "tar-dotdot": lambda d: _tar(d / "a.tar.gz", {"ok.txt": b"x", "../escaped.txt": b"evil"}),
    "tar-absolute": lambda d: _tar(d / "a.tar.gz", {str(d / "escaped.txt"): b"evil"}),
    "tar-symlink": lambda d: _tar(d / "a.tar.gz", {"ok.txt": b"x"}, link=("link", str(d / "escaped.txt"))),
    "not-an-archive": lambda d: (d / "a.zip").write_bytes(b"PK\x03\x04garbage") and d / "a.zip",
}


@pytest.mark.parametrize("kind", sorted(ARCHIVES))
def test_archive_traversal_rejected(kind, tmp_path, record_property):
    archive = ARCHIVES[kind](tmp_path)
    dest = tmp_path / "out" / "inner"
    dest.mkdir(parents=True)
    with pytest.raises(DataError, match=re.escape(archive.name)):
        check_archive(archive)
    with pytest.raises(DataError, match=re.escape(archive.name)):
        extract_archive(archive, dest)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out" / "escaped.txt").exists()
    assert not list(dest.rglob("*")), "something was extracted before the archive was rejected"
    record_property("category", "untrusted file")
    record_property("item", f"download archive: {kind}")
    record_property("detail", "DataError naming the archive; nothing written")


def test_good_archive_extracts(tmp_path, record_property):
    archive = _tar(tmp_path / "a.tar.gz", {"d/one.txt": b"1", "d/two.txt": b"22"})
    written = extract_archive(archive, tmp_path / "out")
    assert sorted(p.read_bytes() for p in written) == [b"1", b"22"]
    record_property("category", "untrusted file")
    record_property("item", "download archive: well-formed (control)")


def test_download_checksum_verified(tmp_path, record_property):
    import hashlib

    src = tmp_path / "src.bin"
    src.write_bytes(b"real data" * 1000)
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "dl" / "file.bin"
    with pytest.raises(DataError, match="Checksum mismatch"):
        fetch(src.as_uri(), dest, sha256="0" * 64)
    assert not dest.exists() and not list(dest.parent.glob("*.part")), "a file failing its checksum was kept"
    res = fetch(src.as_uri(), dest, sha256=good)
    assert dest.read_bytes() == src.read_bytes() and res.sha256 == good
    record_property("category", "untrusted file")
    record_property("item", "download with a published SHA-256: mismatch and match")
    record_property("count", 2)
    record_property("detail", "mismatch: DataError, file deleted; match: installed")


def test_download_rejects_unsupported_scheme(tmp_path):
    with pytest.raises(SuiteError, match="scheme"):
        fetch("ftp://example.org/x", tmp_path / "x")
