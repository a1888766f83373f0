"""Tests of the downloader (probes.datasets) against a real HTTP server on 127.0.0.1.

The server is Python's ``http.server`` in a thread, serving small files made
in a temporary directory laid out like a ``--base-url`` mirror, with HTTP
Range support (for resume) and a switch that cuts transfers short.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crossling.cli import run_main
from probes.datasets import (
    MANIFEST,
    RESOURCES,
    DownloadConfig,
    check_archive,
    download,
    extract_archive,
    fetch,
    list_data,
    main,
)
from crossling.errors import ConfigError, DataError
from probes.readers.xtreme import read_pair_file, read_tatoeba, read_token_file, read_xtreme

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- the server


class _Server:
    def __init__(self, root: Path):
        self.root = root
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.cut_after: int | None = None  # send only this many bytes, then drop the connection
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
                super().__init__(*a, directory=str(server.root), **kw)

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                path = Path(self.translate_path(self.path))
                if not path.is_file():
                    self.send_error(404, "not found")
                    return
                data = path.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_error(416, "range not satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if server.cut_after is not None:
                    body = body[:server.cut_after]
                self.wfile.write(body)
                self.wfile.flush()
                if server.cut_after is not None:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    root = tmp_path / "mirror"
    root.mkdir()
    srv = _Server(root)
    yield srv
    srv.close()


# --------------------------------------------------------------------------- small real-format files

CONLLU = """# sent_id = n01001011
# text = Hello world.
1\tHello\thello\tINTJ\tUH\t_\t0\troot\t_\t_
2\tworld\tworld\tNOUN\tNN\t_\t1\tvocative\t_\tSpaceAfter=No
3\t.\t.\tPUNCT\t.\t_\t1\tpunct\t_\t_

"""

UD_TRAIN = """# sent_id = 1
1-2\tdel\t_\t_\t_\t_\t_\t_\t_\t_
1\tde\tde\tADP\t_\t_\t2\tcase\t_\t_
2\tel\tel\tDET\t_\t_\t0\troot\t_\t_
2.1\tvoy\tir\tVERB\t_\t_\t_\t_\t0:root\t_
3\tMa\u200cdrid\tMadrid\tPROPN\t_\t_\t2\tnmod\t_\t_

# sent_id = 2
1\t_\t_\tNOUN\t_\t_\t0\troot\t_\t_
2\t_\t_\tVERB\t_\t_\t1\tdep\t_\t_
3\t_\t_\tPUNCT\t_\t_\t1\tpunct\t_\t_

"""


def _xnli_tsv(split: str) -> str:
    cols = ["language", "gold_label", "sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse",
            "sentence2_parse", "sentence1", "sentence2", "promptID", "pairID", "genre"]
    rows = ["\t".join(cols)]
    for i, (label, lang, a, b) in enumerate([
        ("neutral", "en", "He said, Mama.", 'He "called" mom.'),
        ("contradictory", "en", "I am home.", "I am away."),
        ("neutral", "de", "Er sagte, Mama.", "Er rief Mama an."),
        ("contradiction", "de", "Ich bin da.", "Ich bin weg."),
        ("neutral", "es", "Dijo, mamá.", "Llamó a mamá."),
        ("entailment", "sw", "Alisema, mama.", "Alizungumza."),
        ("neutral", "fr", "Il a dit.", "Il a appelé."),
    ]):
        rows.append("\t".join([lang, label, "(", ")", "(", ")", a, b, str(i), str(i), split]))
    return "\n".join(rows) + "\n"


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


def _make_mirror(root: Path) -> None:
    """Every resource's sources, small, under the keys the downloader asks a mirror for."""
    for folder, name in (("UD_English-PUD", "en_pud-ud-test.conllu"), ("UD_German-PUD", "de_pud-ud-test.conllu"),
                         ("UD_Spanish-PUD", "es_pud-ud-test.conllu")):
        (root / "ud" / folder).mkdir(parents=True)
        (root / "ud" / folder / name).write_text(CONLLU, encoding="utf-8")
        (root / "ud" / folder / "LICENSE.txt").write_text("CC BY-SA 4.0\n", encoding="utf-8")
    _zip(root / "xnli" / "XNLI-1.0.zip", {
        "XNLI-1.0/xnli.dev.tsv": _xnli_tsv("dev").encode(),
        "XNLI-1.0/xnli.test.tsv": _xnli_tsv("test").encode(),
        "__MACOSX/XNLI-1.0/._xnli.dev.tsv": b"\x00\x05junk",
    })
    paws = "id\tsentence1\tsentence2\tlabel\n1\tA b .\tB a .\t0\n2\tSaid "
    _tar(root / "pawsx" / "x-final.tar.gz", {
        f"x-final/{lang}/{f}": (paws + f'"{lang}"\tHe said it .\t1\n').encode()
        for lang in ("en", "de", "es", "fr") for f in ("dev_2k.tsv", "test_2k.tsv", "train.tsv")})
    tat = root / "xtreme" / "tatoeba" / "v1"
    tat.mkdir(parents=True)
    (tat / "tatoeba.deu-eng.deu").write_text("Hallo.\nDanke.\n", encoding="utf-8")
    (tat / "tatoeba.deu-eng.eng").write_text("Hello.\nThanks.\n", encoding="utf-8")
    (tat / "tatoeba.spa-eng.spa").write_text("Hola.\n", encoding="utf-8")
    (tat / "tatoeba.spa-eng.eng").write_text("Hello.\n", encoding="utf-8")
    (tat / "tatoeba.swh-eng.swh").write_text("Jambo.\n", encoding="utf-8")
    (tat / "tatoeba.swh-eng.eng").write_text("Hello.\n", encoding="utf-8")
    _tar(root / "udpos" / "ud-treebanks-v2.7.tgz", {
        "ud-treebanks-v2.7/UD_Spanish-AnCora/es_ancora-ud-train.conllu": UD_TRAIN.encode(),
        "ud-treebanks-v2.7/UD_Spanish-AnCora/es_ancora-ud-dev.conllu": CONLLU.encode(),
        "ud-treebanks-v2.7/UD_Spanish-GSD/es_gsd-ud-train.conllu": CONLLU.encode(),
        "ud-treebanks-v2.7/UD_English-EWT/en_ewt-ud-test.conllu": CONLLU.encode(),
        "ud-treebanks-v2.7/UD_German-GSD/de_gsd-ud-dev.conllu": CONLLU.encode(),
        "ud-treebanks-v2.7/UD_French-GSD/fr_gsd-ud-dev.conllu": CONLLU.encode(),
        "ud-treebanks-v2.7/UD_Spanish-AnCora/README.md": b"readme",
    })
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tf:
        for split in ("train", "dev", "test"):
            data = b"en:R.H.\tB-ORG\nen:Saunders\tI-ORG\nen:(\tO\n\nen:Bob\tB-PER\n\n"
            info = tarfile.TarInfo(split)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    _zip(root / "panx" / "AmazonPhotos.zip",
         {f"panx_dataset/{lang}.tar.gz": inner.getvalue() for lang in ("en", "de", "es", "sw", "fr")})


def _cfg(out: Path, **kw: object) -> DownloadConfig:
    cfg = DownloadConfig(out=str(out), **kw)  # type: ignore[arg-type]
    cfg.validate()
    return cfg


# --------------------------------------------------------------------------- fetch


def test_fetch_streams_verifies_and_renames(server: _Server, tmp_path: Path) -> None:
    data = os.urandom(3 << 20)  # several chunks
    (server.root / "blob.bin").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    res = fetch(f"{server.url}/blob.bin", tmp_path / "dl" / "blob.bin", sha256=digest)
    assert res.path.read_bytes() == data and res.sha256 == digest and res.bytes == len(data)
    assert not (tmp_path / "dl" / "blob.bin.part").exists() and not res.resumed


def test_fetch_checksum_mismatch_deletes_download(server: _Server, tmp_path: Path) -> None:
    (server.root / "blob.bin").write_bytes(b"tampered")
    with pytest.raises(DataError, match="Checksum mismatch.*expected sha256 0+, got"):
        fetch(f"{server.url}/blob.bin", tmp_path / "blob.bin", sha256="0" * 64)
    assert list(tmp_path.iterdir()) == [server.root]


def test_fetch_http_error_and_bad_scheme(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"HTTP 404"):
        fetch(f"{server.url}/missing.bin", tmp_path / "m.bin")
    assert not (tmp_path / "m.bin").exists()
    with pytest.raises(ConfigError, match="Unsupported URL scheme"):
        fetch("ftp://example.org/x", tmp_path / "x")


def test_interrupted_download_resumes_with_range(server: _Server, tmp_path: Path) -> None:
    data = os.urandom(2_500_000)
    (server.root / "big.bin").write_bytes(data)
    dest = tmp_path / "big.bin"
    server.cut_after = 1_000_000
    with pytest.raises(DataError, match="Rerun the same command to resume"):
        fetch(f"{server.url}/big.bin", dest)
    part = dest.with_name("big.bin.part")
    assert not dest.exists() and part.stat().st_size == 1_000_000
    server.cut_after = None
    res = fetch(f"{server.url}/big.bin", dest, sha256=hashlib.sha256(data).hexdigest())
    assert res.resumed and dest.read_bytes() == data and not part.exists()
    assert server.requests[-1] == ("/big.bin", "bytes=1000000-")


def test_stale_partial_file_restarts(server: _Server, tmp_path: Path) -> None:
    (server.root / "small.bin").write_bytes(b"abc")
    dest = tmp_path / "small.bin"
    dest.with_name("small.bin.part").write_bytes(b"0123456789")  # longer than the file: 416
    res = fetch(f"{server.url}/small.bin", dest)
    assert dest.read_bytes() == b"abc" and not res.resumed


# --------------------------------------------------------------------------- archives


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("bad", ["../evil", "sub/../../evil", "/tmp/crossling-evil-abs"])
def test_extraction_rejects_path_traversal(tmp_path: Path, kind: str, bad: str) -> None:
    members = {"good/ok.txt": b"fine", bad: b"pwned"}
    archive = (_tar(tmp_path / "a.tar.gz", members) if kind == "tar" else _zip(tmp_path / "a.zip", members))
    dest = tmp_path / "x" / "out"
    with pytest.raises(DataError, match=r"refusing to extract it \(path traversal\)"):
        extract_archive(archive, dest)
    assert not (tmp_path / "x" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not Path("/tmp/crossling-evil-abs").exists()
    assert not (dest / "good" / "ok.txt").exists()  # nothing is written when any member is bad


def test_extraction_rejects_links(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "l.tar", {"a.txt": b"x"}, mode="w", links={"link": "/etc/passwd"})
    with pytest.raises(DataError, match="link or special file"):
        check_archive(archive)


def test_extraction_of_a_good_archive(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "g.tgz", {"d/a.txt": b"A", "d/e/b.txt": b"B"})
    assert sorted(check_archive(archive)) == ["d/a.txt", "d/e/b.txt"]
    out = extract_archive(archive, tmp_path / "o")
    assert (tmp_path / "o" / "d" / "e" / "b.txt").read_bytes() == b"B" and len(out) == 2
    flat = extract_archive(archive, tmp_path / "f", select=["d/e/b.txt"], flatten=True)
    assert flat == [(tmp_path / "f" / "b.txt").resolve()]
    with pytest.raises(DataError, match="lacks expected member"):
        extract_archive(archive, tmp_path / "m", select=["nope"])
    (tmp_path / "junk.zip").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="Cannot read archive"):
        check_archive(tmp_path / "junk.zip")


# --------------------------------------------------------------------------- end to end


def test_download_every_resource_from_a_mirror(server: _Server, tmp_path: Path) -> None:
    _make_mirror(server.root)
    out = tmp_path / "data"
    cfg = _cfg(out, what=["all"], base_url=server.url, langs=["en", "de", "es", "sw"])
    report = download(cfg)
    assert set(report.installed) == set(RESOURCES.names())
    assert report.skipped_langs["ud-pud"] == ["sw"]

    pud = (out / "ud" / "UD_German-PUD" / "de_pud-ud-test.conllu").read_text(encoding="utf-8")
    assert pud == CONLLU and (out / "ud" / "UD_English-PUD" / "LICENSE.txt").is_file()

    xnli_en = read_pair_file(out / "xtreme" / "xnli" / "dev-en.tsv")
    assert [(s.text_b, s.label) for s in xnli_en] == [('He "called" mom.', "neutral"),
                                                      ("I am away.", "contradiction")]
    assert [s.label for s in read_xtreme(out, "xnli", "test", "de")] == ["neutral", "contradiction"]
    assert [s.text for s in read_xtreme(out, "xnli", "dev", "sw")] == ["Alisema, mama."]
    assert not (out / "xtreme" / "xnli" / "dev-fr.tsv").exists()  # not requested

    paws = read_xtreme(out, "pawsx", "dev", "de")
    assert [(s.text, s.label) for s in paws] == [("A b .", "0"), ('Said "de"', "1")]
    assert (out / "xtreme" / "pawsx" / "train-en.tsv").is_file()
    assert not (out / "xtreme" / "pawsx" / "train-de.tsv").exists()

    assert read_tatoeba(out, "sw").pairs() == [("Jambo.", "Hello.")]
    assert len(read_tatoeba(out, "de")) == 2

    es = read_xtreme(out, "udpos", "train", "es")  # two treebanks concatenated, syntactic words
    assert [[(w.form, w.upos) for w in s.words] for s in es] == [
        [("de", "ADP"), ("el", "DET"), ("Madrid", "PROPN")],  # ZWNJ removed, MWT and empty node dropped
        [("Hello", "INTJ"), ("world", "NOUN"), (".", "PUNCT")],
    ]  # the all-underscore sentence is dropped, as XTREME does
    assert len(read_xtreme(out, "udpos", "dev", "es")) == 1
    assert len(read_xtreme(out, "udpos", "test", "en")) == 1

    ner = read_token_file(out / "xtreme" / "panx" / "train-en.tsv", field="tag", labels=None)
    assert [[(w.form, w.tag) for w in s.words] for s in ner] == [
        [("R.H.", "B-ORG"), ("Saunders", "I-ORG"), ("(", "O")], [("Bob", "B-PER")]]
    assert {p.name for p in (out / "xtreme" / "panx").iterdir()} == {
        f"{s}-{lg}.tsv" for s in ("train", "dev", "test") for lg in ("en", "de", "es", "sw")}
    assert not (out / "xtreme" / "udpos" / "dev-fr.tsv").exists()

    manifest = json.loads((out / MANIFEST).read_text())
    src = manifest["sources"]["xnli/XNLI-1.0.zip"]
    assert src["url"] == f"{server.url}/xnli/XNLI-1.0.zip"
    assert src["sha256"] == hashlib.sha256((server.root / "xnli" / "XNLI-1.0.zip").read_bytes()).hexdigest()
    for res in manifest["resources"].values():
        for rel, digest in res["outputs"].items():
            assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    assert not (out / ".downloads" / "staging").exists() and not (out / ".lock").exists()

    # a second run downloads nothing and installs nothing
    n_requests = len(server.requests)
    again = download(cfg)
    assert sorted(again.up_to_date) == RESOURCES.names() and not again.installed
    assert len(server.requests) == n_requests

    # a damaged output is reinstalled from the cache, still without network traffic
    (out / "xtreme" / "xnli" / "dev-de.tsv").write_text("broken\n")
    third = download(_cfg(out, what=["xtreme-xnli"], base_url=server.url, langs=["en", "de"]))
    assert third.installed and third.cached == ["xnli/XNLI-1.0.zip"] and len(server.requests) == n_requests
    assert len(read_xtreme(out, "xnli", "dev", "de")) == 2

    rows = list_data(out)
    assert {r["resource"] for r in rows} >= {"ud-pud", "xtreme-xnli", "xtreme-pawsx", "xtreme-tatoeba",
                                             "xtreme-udpos", "xtreme-panx"}
    assert not any(".downloads" in r["path"] for r in rows)


def test_malicious_archive_from_the_mirror_is_refused(server: _Server, tmp_path: Path) -> None:
    _zip(server.root / "xnli" / "XNLI-1.0.zip", {"XNLI-1.0/xnli.dev.tsv": _xnli_tsv("dev").encode(),
                                                 "../../evil": b"pwned"})
    out = tmp_path / "data"
    with pytest.raises(DataError, match=r"'\.\./\.\./evil' contains '\.\.'"):
        download(_cfg(out, what=["xtreme-xnli"], base_url=server.url))
    assert not (tmp_path / "evil").exists() and not (out / "evil").exists()
    assert not (out / "xtreme").exists()
    assert not (out / ".lock").exists()


def test_panx_needs_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--panx-archive PATH"):
        download(_cfg(tmp_path / "d", what=["xtreme-panx"]))
    with pytest.raises(ConfigError, match="is not a file"):
        _cfg(tmp_path / "d", what=["xtreme-panx"], panx_archive=str(tmp_path / "nope.zip"))


def test_panx_from_a_local_archive(server: _Server, tmp_path: Path) -> None:
    _make_mirror(server.root)
    archive = server.root / "panx" / "AmazonPhotos.zip"
    rep = download(_cfg(tmp_path / "d", what=["xtreme-panx"], langs=["de"], panx_archive=str(archive)))
    assert rep.installed["xtreme-panx"] == ["xtreme/panx/dev-de.tsv", "xtreme/panx/test-de.tsv",
                                            "xtreme/panx/train-de.tsv"]
    assert server.requests == []


@pytest.mark.parametrize(("over", "match"), [
    ({"what": []}, "--what names no resource"),
    ({"what": ["ud-pdu"]}, r"Unknown download resource 'ud-pdu'\. Did you mean 'ud-pud'"),
    ({"what": ["ud-pud"], "out": ""}, "--out is required"),
    ({"what": ["ud-pud"], "base_url": "ftp://x"}, "--base-url must start with"),
    ({"what": ["ud-pud"], "timeout": 0}, "--timeout must be positive"),
    ({"what": ["ud-pud"], "ud_ref": "a b"}, "--ud-ref must be"),
])
def test_config_validation(tmp_path: Path, over: dict, match: str) -> None:
    kw = {"out": str(tmp_path)} | over
    with pytest.raises(ConfigError, match=match):
        DownloadConfig(**kw).validate()


def test_langs_outside_a_resource(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ud-pud covers none of sw"):
        download(_cfg(tmp_path, what=["ud-pud"], langs=["sw"]))
    with pytest.raises(ConfigError, match="Unknown language 'klingon'"):
        download(_cfg(tmp_path, what=["ud-pud"], langs=["klingon"]))


def test_error_page_instead_of_conllu_is_rejected(server: _Server, tmp_path: Path) -> None:
    folder = server.root / "ud" / "UD_English-PUD"
    folder.mkdir(parents=True)
    (folder / "en_pud-ud-test.conllu").write_text("<html>rate limited</html>")
    (folder / "LICENSE.txt").write_text("x")
    with pytest.raises(DataError, match="not a CoNLL-U treebank"):
        download(_cfg(tmp_path / "d", what=["ud-pud"], langs=["en"], base_url=server.url))
    assert not (tmp_path / "d" / "ud").exists()


# --------------------------------------------------------------------------- CLI


def test_cli_download_and_list(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _make_mirror(server.root)
    out = tmp_path / "data"
    code = run_main(main, ["download", "--what", "ud-pud,xtreme-tatoeba", "--langs", "de", "--base-url",
                           server.url, "--out", str(out), "--quiet"])
    assert code == 0
    assert "done: 4 files installed" in capsys.readouterr().out
    assert run_main(main, ["list", "--data-dir", str(out)]) == 0
    listing = capsys.readouterr().out
    assert "ud-pud" in listing and "xtreme-tatoeba" in listing and "2 entries" in listing
    assert run_main(main, ["list", "--data-dir", str(out), "--files"]) == 0
    assert "ud/UD_German-PUD/de_pud-ud-test.conllu" in capsys.readouterr().out


def test_cli_errors_exit_with_documented_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(main, ["download", "--what", "nope", "--out", str(tmp_path)]) == 2
    assert "Unknown download resource 'nope'" in capsys.readouterr().err
    assert run_main(main, ["list", "--data-dir", str(tmp_path / "missing")]) == 3
    assert run_main(main, []) == 2


def test_python_dash_m_probes_data_runs(tmp_path: Path) -> None:
    (tmp_path / "xtreme" / "xnli").mkdir(parents=True)
    (tmp_path / "xtreme" / "xnli" / "dev-en.tsv").write_text("a\tb\tneutral\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "probes.data", "list", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "xtreme-xnli" in proc.stdout and "1 entries" in proc.stdout


def test_fetch_from_a_file_url(tmp_path: Path) -> None:
    src = tmp_path / "mirror" / "a.txt"
    src.parent.mkdir()
    src.write_bytes(b"local mirror\n")
    dest = tmp_path / "out" / "a.txt"
    dest.parent.mkdir()
    dest.with_name("a.txt.part").write_bytes(b"local")  # file:// ignores Range: the download restarts
    res = fetch(src.as_uri(), dest)
    assert dest.read_bytes() == b"local mirror\n" and not res.resumed


def test_cli_is_generated_from_the_configs(capsys: pytest.CaptureFixture[str]) -> None:
    from probes.datasets._cli import command_parser

    text = command_parser("download").format_help()
    for flag in ("--config", "--set", "--dry-run", "--quiet", "--debug", "--what", "--out", "--langs", "--languages",
                 "--base-url", "--ud-ref", "--panx-archive", "--force", "--overwrite", "--timeout"):
        assert flag in text, flag
    text = command_parser("list").format_help()
    for flag in ("--config", "--set", "--dry-run", "--data-dir", "--data", "--files"):
        assert flag in text, flag


def test_download_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    assert run_main(main, ["download", "--what", "ud-pud,xtreme-xnli", "--out", str(out), "--dry-run",
                           "--set", "timeout=5"]) == 0
    text = capsys.readouterr().out
    assert not out.exists()
    assert "would download ud-pud" in text and "would download xtreme-xnli" in text and "timeout: 5.0" in text


def test_list_resolves_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CROSSLING_DATA", str(tmp_path))
    assert run_main(main, ["list", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert f"data_dir: {tmp_path}" in text and "null" not in text
