"""Download the suite's public data sets into the layout the readers expect.

Run as ``python -m probes.data`` (see :mod:`probes.data.__main__`)::

    python -m probes.data download --what ud-pud,xtreme-xnli --out data/
    python -m probes.data download --what xtreme-tatoeba --langs de,sw --out data/
    python -m probes.data list --data-dir data/

Each resource is a small class registered in :data:`RESOURCES`: it names its
upstream files (:class:`Source`) and turns the downloaded files into the
documented layout (``ud/UD_<Lang>-PUD/...``, ``xtreme/<task>/<split>-<xx>.tsv``,
``xtreme/tatoeba/v1/...``; see docs/data.md).

Downloads stream into ``<out>/.downloads/<key>.part`` and are renamed to
their final name only when complete (an interrupted download resumes with an
HTTP ``Range`` request when rerun). The SHA-256 of every downloaded and every
installed file is recorded in ``<out>/download-manifest.json``; a published
checksum, where a source has one, is verified. Archives are checked before
anything is extracted: absolute member names, ``..`` components, links and
device files are refused. ``--base-url`` fetches every source from a mirror
that serves the same relative paths (``<base-url>/<key>``) instead.
"""

from __future__ import annotations

import csv
import datetime as _dt
import errno
import io
import json
import os
import re
import shutil
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from crossling.cli import SuiteArgumentParser, run_main
from crossling.config import Interval, load_config, split_list
from crossling.errors import ConfigError, DataError, ResourceError, suggest
from crossling.io import (
    DirLock,
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    fsync_dir,
    sha256_file,
)
from crossling.languages import find_language, get_language
from crossling.paths import default_data_dir, resolve_data_dir
from crossling.registry import Registry

__all__ = [
    "MANIFEST",
    "RESOURCES",
    "DownloadConfig",
    "DownloadReport",
    "Resource",
    "Source",
    "build_parser",
    "check_archive",
    "default_data_dir",
    "download",
    "extract_archive",
    "fetch",
    "list_data",
    "main",
]

#: Name of the manifest written in the output directory.
MANIFEST = "download-manifest.json"
_CACHE = ".downloads"
_CHUNK = 1 << 20
_USER_AGENT = "crossling-data/0.1 (+https://github.com/; python urllib)"
_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


# --------------------------------------------------------------------------- sources and fetching


@dataclass(frozen=True)
class Source:
    """One upstream file.

    Attributes
    ----------
    key : str
        Relative path naming the file in the download cache and under
        ``--base-url`` (``"xnli/XNLI-1.0.zip"``).
    url : str or None
        Upstream URL; ``None`` if the file cannot be fetched automatically
        (it must then come from ``--base-url`` or a local path).
    sha256 : str or None
        Published SHA-256, verified when given.
    """

    key: str
    url: str | None
    sha256: str | None = None


@dataclass
class _FetchResult:
    path: Path
    sha256: str
    bytes: int
    url: str
    resumed: bool
    cached: bool


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _disk_error(exc: OSError, path: Path) -> ResourceError:
    return ResourceError(
        f"Could not write {str(path)!r}: {os.strerror(exc.errno or 0)} (disk full or file-size limit). "
        "Free space, then rerun the same command: the partial download is kept and resumes."
    )


def fetch(url: str, dest: str | Path, *, sha256: str | None = None, timeout: float = 60.0,
          log: IO[str] | None = None) -> _FetchResult:
    """Download ``url`` to ``dest`` via ``dest.part``; resume a partial file.

    Parameters
    ----------
    url : str
        ``http(s)://`` or ``file://`` URL.
    dest : path-like
        Final path; it appears only once the download is complete (and its
        checksum verified).
    sha256 : str, optional
        Expected SHA-256 (hex); a mismatch deletes the download.
    timeout : float, default=60
        Seconds to wait for the server on connect and between reads.
    log : text stream, optional
        Where to report progress (one line per file).

    Returns
    -------
    result
        ``path``, ``sha256``, ``bytes``, ``url``, ``resumed``, ``cached``.

    Raises
    ------
    DataError
        Network/HTTP failure, truncated transfer, checksum mismatch.
    ResourceError
        Disk full while writing.
    """
    dest = Path(dest)
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise ConfigError(f"Unsupported URL scheme in {url!r}; use http://, https:// or file://.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    resumed = False
    for attempt in range(2):
        headers = {"User-Agent": _USER_AGENT}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
        req = urllib.request.Request(url, headers=headers)
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset > 0 and attempt == 0:
                part.unlink(missing_ok=True)  # stale partial file; start over
                offset = 0
                continue
            raise DataError(f"Download of {url} failed: HTTP {exc.code} {exc.reason}. Check the URL "
                            "(or --base-url) and rerun; finished files are kept.") from None
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DataError(f"Download of {url} failed: {reason}. Check your connection (or --base-url) "
                            "and rerun the same command; a partial download resumes.") from None
        break
    with resp:
        status = getattr(resp, "status", None) or 200
        length = resp.headers.get("Content-Length")
        mode = "wb"
        if offset > 0 and status == 206:
            crange = resp.headers.get("Content-Range", "")
            m = re.match(r"bytes (\d+)-", crange)
            if m is None or int(m.group(1)) != offset:
                raise DataError(f"Server answered a resume request for {url} with Content-Range "
                                f"{crange!r}, expected bytes {offset}-. Delete {str(part)!r} and rerun.")
            mode, resumed = "ab", True
        else:
            offset = 0
        expected_total = offset + int(length) if length is not None and length.isdigit() else None
        if log is not None:
            size = f" ({expected_total / 1e6:.1f} MB)" if expected_total else ""
            print(f"{'resuming' if resumed else 'fetching'} {url}{size}", file=log, flush=True)
        try:
            with open(part, mode) as fh:
                while True:
                    try:
                        chunk = resp.read(_CHUNK)
                    except (TimeoutError, ConnectionError, OSError) as exc:
                        if isinstance(exc, OSError) and exc.errno in _FULL:
                            raise
                        raise DataError(f"Download of {url} was interrupted ({exc}). Rerun the same command "
                                        "to resume.") from None
                    if not chunk:
                        break
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            if exc.errno in _FULL:
                raise _disk_error(exc, part) from None
            raise
    got = part.stat().st_size
    if expected_total is not None and got != expected_total:
        raise DataError(f"Download of {url} is incomplete ({got} of {expected_total} bytes). Rerun the same "
                        "command to resume.")
    digest = sha256_file(part)
    if sha256 is not None and digest.lower() != sha256.lower():
        part.unlink(missing_ok=True)
        raise DataError(f"Checksum mismatch for {url}: expected sha256 {sha256}, got {digest}. The file was "
                        "deleted; rerun to download it again, or check the mirror (--base-url).")
    os.replace(part, dest)
    fsync_dir(dest.parent)
    return _FetchResult(path=dest, sha256=digest, bytes=got, url=url, resumed=resumed, cached=False)


# --------------------------------------------------------------------------- archives


def _check_member_name(name: str, archive: Path) -> PurePosixPath:
    """Reject absolute names and ``..`` components; return the normalised relative path."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"\A[A-Za-z]:", norm):
        raise DataError(f"Archive member {name!r} has an absolute path; refusing to extract it "
                        "(path traversal). The archive may be tampered with: delete it and download again.",
                        path=archive)
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DataError(f"Archive member {name!r} contains '..'; refusing to extract it (path traversal). "
                        "The archive may be tampered with: delete it and download again.", path=archive)
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _is_zip(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def check_archive(archive: str | Path) -> list[str]:
    """List the regular-file members of a zip or tar archive after checking every member.

    Raises
    ------
    DataError
        If any member has an absolute name or a ``..`` component, or (tar) is
        a symbolic/hard link, device or FIFO, or the archive is unreadable.
    """
    archive = Path(archive)
    files: list[str] = []
    try:
        if _is_zip(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_member_name(info.filename, archive)
                    if not info.is_dir():
                        files.append(info.filename)
        else:
            with tarfile.open(archive, "r:*") as tf:
                for m in tf:
                    _check_member_name(m.name, archive)
                    if m.issym() or m.islnk() or m.isdev() or m.isfifo():
                        raise DataError(f"Archive member {m.name!r} is a link or special file; refusing to "
                                        "extract it. Delete the archive and download again.", path=archive)
                    if m.isfile():
                        files.append(m.name)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno in _FULL:
            raise
        raise DataError(f"Cannot read archive ({type(exc).__name__}: {exc}). Delete it and download again.",
                        path=archive) from None
    return files


def extract_archive(archive: str | Path, dest: str | Path, select: Iterable[str] | None = None,
                    flatten: bool = False) -> list[Path]:
    """Safely extract (some) regular files of a zip/tar archive into ``dest``.

    Every member is checked (:func:`check_archive`) before anything is
    written; each file is written atomically.

    Parameters
    ----------
    archive : path-like
        ``.zip``, ``.tar``, ``.tar.gz``/``.tgz`` or ``.tar.bz2``.
    dest : path-like
        Target directory.
    select : iterable of str, optional
        Member names to extract (default: all regular files).
    flatten : bool, default=False
        Drop member directories (like ``unzip -j``).

    Returns
    -------
    list of Path
        The written files.
    """
    archive, dest = Path(archive), Path(dest)
    members = check_archive(archive)
    wanted = set(members if select is None else select)
    missing = wanted - set(members)
    if missing:
        raise DataError(f"Archive lacks expected member(s) {sorted(missing)[:5]}; it is not the expected "
                        "release. Delete it and download again.", path=archive)
    root = dest.resolve()
    written: list[Path] = []

    def target(name: str) -> Path:
        rel = _check_member_name(name, archive)
        out = (dest / (rel.name if flatten else rel)).resolve()
        if root not in out.parents:
            raise DataError(f"Archive member {name!r} would be written outside {str(dest)!r}; refusing.",
                            path=archive)
        return out

    try:
        if _is_zip(archive):
            with zipfile.ZipFile(archive) as zf:
                for name in members:
                    if name in wanted:
                        out = target(name)
                        with zf.open(name) as src, atomic_write(out) as fh:
                            shutil.copyfileobj(src, fh, _CHUNK)
                        written.append(out)
        else:
            with tarfile.open(archive, "r:*") as tf:
                for m in tf:
                    if m.isfile() and m.name in wanted:
                        out = target(m.name)
                        stream = tf.extractfile(m)
                        if stream is None:  # pragma: no cover - isfile() guarantees a stream
                            continue
                        with stream, atomic_write(out) as fh:
                            shutil.copyfileobj(stream, fh, _CHUNK)
                        written.append(out)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"Cannot read archive ({type(exc).__name__}: {exc}). Delete it and download again.",
                        path=archive) from None
    return written


# --------------------------------------------------------------------------- resources


@dataclass
class _Context:
    """What a resource's ``install`` gets: the fetched files, options, and output helpers."""

    out: Path
    files: dict[str, Path]
    langs: list[str]
    options: DownloadConfig
    written: list[Path] = field(default_factory=list)

    @property
    def staging(self) -> Path:
        return self.out / _CACHE / "staging"

    def write_text(self, rel: str, text: str) -> None:
        path = self.out / rel
        atomic_write_text(path, text)
        self.written.append(path)

    def write_tsv(self, rel: str, rows: Iterable[Sequence[str]]) -> int:
        """Write rows as XTREME does (``csv.writer`` with tabs), LF line ends; return the row count."""
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
        n = 0
        for row in rows:
            writer.writerow(row)
            n += 1
        self.write_text(rel, buf.getvalue())
        return n


class Resource:
    """A downloadable data set; subclasses set the class attributes and two methods.

    Attributes
    ----------
    name : str
        Registry name (``"ud-pud"``).
    description : str
        One line for ``--help`` and listings.
    languages : tuple of str
        ISO 639-1 codes (or resource codes) the resource covers.
    defaults : tuple of str or None
        Languages fetched when ``--langs`` is not given (``None``: all).
    """

    name = ""
    description = ""
    languages: tuple[str, ...] = ()
    defaults: tuple[str, ...] | None = None

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        """Upstream files needed for ``langs``."""
        raise NotImplementedError

    def install(self, ctx: _Context) -> None:
        """Turn ``ctx.files`` (key -> local path) into the layout under ``ctx.out``."""
        raise NotImplementedError

    def select_langs(self, requested: list[str] | None) -> tuple[list[str], list[str]]:
        """``(chosen, skipped)`` languages; ``requested=None`` gives the defaults."""
        if requested is None:
            return list(self.defaults if self.defaults is not None else self.languages), []
        chosen, skipped = [], []
        for code in requested:
            lang = find_language(code)
            key = lang.iso1 if lang is not None and lang.iso1 in self.languages else code
            if key in self.languages:
                if key not in chosen:
                    chosen.append(key)
            else:
                skipped.append(code)
        return chosen, skipped


#: Registry of downloadable resources, by name.
RESOURCES: Registry[Resource] = Registry("download resource")


def _register(cls: type[Resource]) -> type[Resource]:
    RESOURCES.register(cls.name)(cls())
    return cls


def _read_utf8(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"Downloaded file is not UTF-8 (byte offset {exc.start}); it is probably an error "
                        "page. Delete it and download again.", path=path) from None


_PUD = {  # ISO 639-1 -> UD treebank name, for the PUD treebanks
    "ar": "Arabic", "cs": "Czech", "de": "German", "en": "English", "es": "Spanish", "fi": "Finnish",
    "fr": "French", "hi": "Hindi", "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "pl": "Polish", "pt": "Portuguese", "ru": "Russian", "sv": "Swedish", "th": "Thai",
    "tr": "Turkish", "zh": "Chinese",
}


@_register
class UDPud(Resource):
    """Parallel Universal Dependencies treebanks from the UD GitHub repositories."""

    name = "ud-pud"
    description = "UD PUD treebanks (1000 parallel sentences, 20 languages) from github.com/UniversalDependencies"
    languages = tuple(_PUD)
    defaults = ("ar", "cs", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr", "zh")
    base = "https://raw.githubusercontent.com/UniversalDependencies"

    def _files(self, lang: str) -> tuple[str, str]:
        folder = f"UD_{_PUD[lang]}-PUD"
        code = get_language(lang).ud_code or lang
        return folder, f"{code}_pud-ud-test.conllu"

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        out = []
        for lang in langs:
            folder, conllu = self._files(lang)
            for fname in (conllu, "LICENSE.txt"):
                out.append(Source(f"ud/{folder}/{fname}", f"{self.base}/{folder}/{cfg.ud_ref}/{fname}"))
        return out

    def install(self, ctx: _Context) -> None:
        for lang in ctx.langs:
            folder, conllu = self._files(lang)
            key = f"ud/{folder}/{conllu}"
            text = _read_utf8(ctx.files[key])
            if "# sent_id" not in text or "\t" not in text:
                raise DataError("Downloaded file is not a CoNLL-U treebank (no '# sent_id' lines). Delete it "
                                "and download again.", path=ctx.files[key])
            ctx.write_text(key, text)
            ctx.write_text(f"ud/{folder}/LICENSE.txt", _read_utf8(ctx.files[f"ud/{folder}/LICENSE.txt"]))


_XNLI_LANGS = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")


@_register
class XtremeXnli(Resource):
    """XNLI 1.0 dev/test sets converted to XTREME's ``xnli/{dev,test}-<xx>.tsv``."""

    name = "xtreme-xnli"
    description = "XNLI 1.0 dev+test (15 languages) from dl.fbaipublicfiles.com, as xtreme/xnli/<split>-<xx>.tsv"
    languages = _XNLI_LANGS
    url = "https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip"
    key = "xnli/XNLI-1.0.zip"

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        return [Source(self.key, self.url)]

    def install(self, ctx: _Context) -> None:
        archive = ctx.files[self.key]
        members = check_archive(archive)
        for split in ("dev", "test"):
            name = next((m for m in members if m.endswith(f"xnli.{split}.tsv") and "__MACOSX" not in m), None)
            if name is None:
                raise DataError(f"Archive lacks xnli.{split}.tsv; it is not the XNLI-1.0 release.", path=archive)
            (path,) = extract_archive(archive, ctx.staging / "xnli", select=[name], flatten=True)
            lines = _read_utf8(path).split("\n")
            header = lines[0].rstrip("\r").split("\t")
            try:
                col = {k: header.index(k) for k in ("language", "gold_label", "sentence1", "sentence2")}
            except ValueError:
                raise DataError(f"XNLI header lacks language/gold_label/sentence1/sentence2: {header[:8]}",
                                path=path, line=1) from None
            per_lang: dict[str, list[tuple[str, str, str]]] = {}
            for lineno, line in enumerate(lines[1:], 2):
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                items = line.split("\t")
                if len(items) <= max(col.values()):
                    raise DataError(f"Expected at least {max(col.values()) + 1} columns, got {len(items)}.",
                                    path=path, line=lineno)
                label = items[col["gold_label"]].strip()
                label = "contradiction" if label == "contradictory" else label
                per_lang.setdefault(items[col["language"]].strip(), []).append(
                    (items[col["sentence1"]].strip(), items[col["sentence2"]].strip(), label))
            for lang in ctx.langs:
                if lang not in per_lang:
                    raise DataError(f"XNLI {split} has no language {lang!r}.", path=path)
                ctx.write_tsv(f"xtreme/xnli/{split}-{lang}.tsv", per_lang[lang])


_PAWSX_LANGS = ("de", "en", "es", "fr", "ja", "ko", "zh")


@_register
class XtremePawsx(Resource):
    """PAWS-X converted to XTREME's ``pawsx/{train,dev,test}-<xx>.tsv`` (train: English only)."""

    name = "xtreme-pawsx"
    description = "PAWS-X dev+test (7 languages) and English train from storage.googleapis.com/paws"
    languages = _PAWSX_LANGS
    url = "https://storage.googleapis.com/paws/pawsx/x-final.tar.gz"
    key = "pawsx/x-final.tar.gz"

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        return [Source(self.key, self.url)]

    def install(self, ctx: _Context) -> None:
        archive = ctx.files[self.key]
        members = check_archive(archive)
        wanted: dict[str, tuple[str, str]] = {}
        for lang in ctx.langs:
            for split, fname in (("dev", "dev_2k.tsv"), ("test", "test_2k.tsv"), ("train", "train.tsv")):
                if split == "train" and lang != "en":
                    continue
                name = next((m for m in members if m.endswith(f"/{lang}/{fname}")), None)
                if name is None:
                    raise DataError(f"Archive lacks x-final/{lang}/{fname}; it is not the PAWS-X release.",
                                    path=archive)
                wanted[name] = (lang, split)
        extracted = extract_archive(archive, ctx.staging / "pawsx", select=list(wanted))
        for path in extracted:
            name = path.relative_to((ctx.staging / "pawsx").resolve()).as_posix()
            lang, split = wanted[name]
            rows = []
            lines = _read_utf8(path).split("\n")
            for lineno, line in enumerate(lines[1:], 2):  # header: id sentence1 sentence2 label
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                items = line.split("\t")
                if len(items) != 4:
                    raise DataError(f"Expected 4 columns (id, sentence1, sentence2, label), got {len(items)}.",
                                    path=path, line=lineno)
                rows.append((items[1].strip(), items[2].strip(), items[3].strip()))
            ctx.write_tsv(f"xtreme/pawsx/{split}-{lang}.tsv", rows)


# The 112 languages of the LASER Tatoeba test sets (tatoeba.<xxx>-eng.<xxx>).
TATOEBA_CODES: tuple[str, ...] = (
    "afr", "amh", "ang", "ara", "arq", "arz", "ast", "awa", "aze", "bel", "ben", "ber", "bos",
    "bre", "bul", "cat", "cbk", "ceb", "ces", "cha", "cmn", "cor", "csb", "cym", "dan", "deu",
    "dsb", "dtp", "ell", "epo", "est", "eus", "fao", "fin", "fra", "fry", "gla", "gle", "glg",
    "gsw", "heb", "hin", "hrv", "hsb", "hun", "hye", "ido", "ile", "ina", "ind", "isl", "ita",
    "jav", "jpn", "kab", "kat", "kaz", "khm", "kor", "kur", "kzj", "lat", "lfn", "lit", "lvs",
    "mal", "mar", "max", "mhr", "mkd", "mon", "nds", "nld", "nno", "nob", "nov", "oci", "orv",
    "pam", "pes", "pms", "pol", "por", "ron", "rus", "slk", "slv", "spa", "sqi", "srp", "swe",
    "swg", "swh", "tam", "tat", "tel", "tgl", "tha", "tuk", "tur", "tzl", "uig", "ukr", "urd",
    "uzb", "vie", "war", "wuu", "xho", "yid", "yue", "zsm",
)


@_register
class XtremeTatoeba(Resource):
    """The LASER Tatoeba similarity-search test sets (112 languages paired with English)."""

    name = "xtreme-tatoeba"
    description = "Tatoeba test sets (112 languages x English) from github.com/facebookresearch/LASER"
    languages = TATOEBA_CODES
    base = "https://raw.githubusercontent.com/facebookresearch/LASER/main/data/tatoeba/v1"

    def select_langs(self, requested: list[str] | None) -> tuple[list[str], list[str]]:
        if requested is None:
            return list(TATOEBA_CODES), []
        chosen, skipped = [], []
        for code in requested:
            lang = find_language(code)
            tat = lang.tatoeba if lang is not None and lang.tatoeba and lang.iso1 != "en" else code
            if tat in TATOEBA_CODES:
                if tat not in chosen:
                    chosen.append(tat)
            else:
                skipped.append(code)
        return chosen, skipped

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        out = []
        for code in langs:
            for side in (code, "eng"):
                fname = f"tatoeba.{code}-eng.{side}"
                out.append(Source(f"xtreme/tatoeba/v1/{fname}", f"{self.base}/{fname}"))
        return out

    def install(self, ctx: _Context) -> None:
        for code in ctx.langs:
            texts = []
            for side in (code, "eng"):
                key = f"xtreme/tatoeba/v1/tatoeba.{code}-eng.{side}"
                texts.append((key, _read_utf8(ctx.files[key])))
            n = [t.count("\n") + (0 if t.endswith("\n") or not t else 1) for _, t in texts]
            if n[0] != n[1]:
                raise DataError(f"Tatoeba files are not line-aligned ({n[0]} vs {n[1]} lines).",
                                path=ctx.files[texts[0][0]])
            for key, text in texts:
                ctx.write_text(key, text)


# XTREME's UD-POS languages (scripts/download_data.sh), minus Wolof which the language table lacks.
_UDPOS_LANGS = (
    "af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id",
    "it", "ja", "kk", "ko", "lt", "mr", "nl", "pl", "pt", "ro", "ru", "ta", "te", "th", "tl", "tr",
    "uk", "ur", "vi", "yo", "zh",
)


def _conllu_pos_sentences(text: str, path: Path) -> list[tuple[list[str], list[str]]]:
    """(words, UPOS) of each sentence, XTREME's way: syntactic words, mostly-'_' sentences dropped."""
    out = []
    forms: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        nonlocal forms, tags
        if forms:
            n_empty = sum(w == "_" for w in forms)
            if n_empty == 0 or n_empty < len(forms) - 1:
                out.append((forms, tags))
        forms, tags = [], []

    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise DataError(f"Expected 10 CoNLL-U columns, got {len(cols)}.", path=path, line=lineno)
        if not cols[0].isdigit():  # multiword-token ranges (1-2) and empty nodes (1.1)
            continue
        form = "".join(cols[1].replace("\u200c", "").split(" "))
        forms.append(form or "_")
        tags.append(cols[3])
    flush()
    return out


@_register
class XtremeUdpos(Resource):
    """UD v2.7 (XTREME's release) converted to ``udpos/{train,dev,test}-<xx>.tsv``."""

    name = "xtreme-udpos"
    description = "UD-POS from the UD v2.7 release on lindat.mff.cuni.cz (~350 MB), as xtreme/udpos/<split>-<xx>.tsv"
    languages = _UDPOS_LANGS
    url = "https://lindat.mff.cuni.cz/repository/xmlui/bitstream/handle/11234/1-3424/ud-treebanks-v2.7.tgz"
    key = "udpos/ud-treebanks-v2.7.tgz"
    _file = re.compile(r"(?:\A|/)UD_[^/]+/([a-z]{2,3})_[a-z0-9]+-ud-(train|dev|test)\.conllu\Z")

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        return [Source(self.key, self.url)]

    def install(self, ctx: _Context) -> None:
        archive = ctx.files[self.key]
        members = check_archive(archive)
        codes = {get_language(lang).ud_code or lang: lang for lang in ctx.langs}
        selected: dict[str, tuple[str, str]] = {}
        for name in members:
            m = self._file.search(name)
            if m and m.group(1) in codes:
                selected[name] = (codes[m.group(1)], m.group(2))
        staging = ctx.staging / "udpos"
        extract_archive(archive, staging, select=list(selected))
        data: dict[tuple[str, str], list[tuple[list[str], list[str]]]] = {}
        for name in sorted(selected):
            lang, split = selected[name]
            path = staging / _check_member_name(name, archive)
            data.setdefault((lang, split), []).extend(_conllu_pos_sentences(_read_utf8(path), path))
        for lang in ctx.langs:
            if not any(k[0] == lang for k in data):
                raise DataError(f"The UD archive has no treebank for {lang!r}.", path=archive)
        for (lang, split), sents in sorted(data.items()):
            body = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(ws, ts)) for ws, ts in sents)
            ctx.write_text(f"xtreme/udpos/{split}-{lang}.tsv", body + "\n")


_PANX_LANGS = (
    "ar", "he", "vi", "id", "jv", "ms", "tl", "eu", "ml", "ta", "te", "af", "nl", "en", "de", "el",
    "bn", "hi", "mr", "ur", "fa", "fr", "it", "pt", "es", "bg", "ru", "ja", "ka", "ko", "th", "sw",
    "yo", "my", "zh", "kk", "tr", "et", "fi", "hu", "qu", "pl", "uk", "az", "lt", "pa", "gu", "ro",
)
PANX_MANUAL_URL = "https://www.amazon.com/clouddrive/share/d3KGCRCIYwhKJF0H3eWA26hjg2ZCRhjpEQtDL70FSBN"


@_register
class XtremePanx(Resource):
    """WikiANN / PAN-X from XTREME's ``AmazonPhotos.zip`` (manual download or --base-url mirror)."""

    name = "xtreme-panx"
    description = ("PAN-X / WikiANN NER (XTREME's AmazonPhotos.zip: manual download, give --panx-archive, "
                   "or a --base-url mirror with panx/AmazonPhotos.zip)")
    languages = _PANX_LANGS
    defaults = ("ar", "bg", "de", "el", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr",
                "ur", "vi", "zh")
    key = "panx/AmazonPhotos.zip"

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        return [Source(self.key, None)]

    def install(self, ctx: _Context) -> None:
        archive = ctx.files[self.key]
        members = check_archive(archive)
        by_lang = {PurePosixPath(m).name[:-len(".tar.gz")]: m for m in members if m.endswith(".tar.gz")}
        staging = ctx.staging / "panx"
        for lang in ctx.langs:
            if lang not in by_lang:
                raise DataError(f"Archive lacks {lang}.tar.gz; it is not XTREME's PAN-X archive.", path=archive)
            (inner,) = extract_archive(archive, staging, select=[by_lang[lang]], flatten=True)
            inner_members = check_archive(inner)
            for split in ("train", "dev", "test"):
                name = next((m for m in inner_members if PurePosixPath(m).name == split), None)
                if name is None:
                    raise DataError(f"Archive lacks the {split!r} file.", path=inner)
                (path,) = extract_archive(inner, staging / lang, select=[name], flatten=True)
                lines = []
                for lineno, line in enumerate(_read_utf8(path).split("\n"), 1):
                    items = line.strip().split("\t")
                    if len(items) == 2:
                        token = items[0]
                        colon = token.find(":")
                        if colon == -1:
                            raise DataError(f"Expected '{lang}:word<TAB>tag', got {line[:60]!r}.", path=path,
                                            line=lineno)
                        lines.append(f"{token[colon + 1:].strip()}\t{items[1].strip()}")
                    elif not line.strip():
                        if lines and lines[-1] != "":
                            lines.append("")
                    else:
                        raise DataError(f"Expected '{lang}:word<TAB>tag', got {line[:60]!r}.", path=path,
                                        line=lineno)
                while lines and lines[-1] == "":
                    lines.pop()
                ctx.write_text(f"xtreme/panx/{split}-{lang}.tsv", "\n".join(lines) + "\n")


# --------------------------------------------------------------------------- the download command


@dataclass
class DownloadConfig:
    """Options of ``python -m probes.data download``.

    Attributes
    ----------
    what : list of str
        Resource names (see :data:`RESOURCES`), or ``["all"]``.
    out : str
        Output data directory (the layout of docs/data.md is created in it).
    langs : list of str
        Languages (any spelling); empty: each resource's defaults.
    base_url : str
        Mirror serving ``<base_url>/<source key>`` for every source; empty: upstream.
    ud_ref : str
        Git branch or tag of the UD repositories (``master``, or a release tag
        such as ``r2.13`` for reproducibility).
    panx_archive : str
        Local path of XTREME's ``AmazonPhotos.zip`` (PAN-X).
    force : bool
        Re-download and re-install even if the manifest says it is done.
    timeout : float
        Network timeout in seconds.
    """

    what: list[str] = field(default_factory=list)
    out: str = ""
    langs: list[str] = field(default_factory=list)
    base_url: str = ""
    ud_ref: str = "master"
    panx_archive: str = ""
    force: bool = False
    timeout: float = 60.0

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "timeout": [Interval("real", 0, None, closed="neither", meaning="seconds")],
    }

    def validate(self) -> None:
        if not self.what:
            raise ConfigError(f"--what names no resource. Choose from: {', '.join(RESOURCES.names())} (or all).")
        names = RESOURCES.names() if self.what == ["all"] else self.what
        for name in names:
            RESOURCES.get(name)  # raises ConfigError with suggestions
        self.what = list(dict.fromkeys(names))
        if not self.out:
            raise ConfigError("--out is required: the directory to download into.")
        if self.base_url and urllib.parse.urlsplit(self.base_url).scheme not in ("http", "https", "file"):
            raise ConfigError(f"--base-url must start with http://, https:// or file://, got {self.base_url!r}.")
        if self.timeout <= 0:
            raise ConfigError(f"--timeout must be positive, got {self.timeout}.")
        if self.panx_archive and not Path(self.panx_archive).is_file():
            raise ConfigError(f"--panx-archive {self.panx_archive!r} is not a file. Download AmazonPhotos.zip "
                              f"from {PANX_MANUAL_URL} first.")
        if not re.fullmatch(r"[A-Za-z0-9._/-]+", self.ud_ref):
            raise ConfigError(f"--ud-ref must be a git branch or tag name, got {self.ud_ref!r}.")


@dataclass
class DownloadReport:
    """What :func:`download` did, per resource."""

    installed: dict[str, list[str]] = field(default_factory=dict)
    skipped_langs: dict[str, list[str]] = field(default_factory=dict)
    up_to_date: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)


def _load_manifest(out: Path) -> dict[str, Any]:
    path = out / MANIFEST
    if not path.is_file():
        return {"version": 1, "sources": {}, "resources": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"Download manifest is unreadable ({exc}); delete it to start over.", path=path) from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise DataError("Download manifest has an unexpected structure; delete it to start over.", path=path)
    data.setdefault("resources", {})
    return data


def _source_url(src: Source, cfg: DownloadConfig) -> str | None:
    if cfg.base_url:
        return cfg.base_url.rstrip("/") + "/" + urllib.parse.quote(src.key)
    return src.url


def _outputs_intact(out: Path, entry: dict[str, Any]) -> bool:
    outputs = entry.get("outputs") or {}
    if not outputs:
        return False
    for rel, digest in outputs.items():
        p = out / rel
        if not p.is_file() or sha256_file(p) != digest:
            return False
    return True


def download(cfg: DownloadConfig, log: IO[str] | None = None) -> DownloadReport:
    """Fetch and install the resources of ``cfg`` (see :class:`DownloadConfig`).

    Idempotent and resumable: a resource whose installed files still match
    the manifest is skipped; cached downloads are reused after their
    checksum is verified; a partial download resumes.

    Returns
    -------
    DownloadReport

    Raises
    ------
    ConfigError, DataError, ResourceError, LockError
    """
    out = Path(cfg.out)
    report = DownloadReport()
    requested = [str(x) for x in cfg.langs] if cfg.langs else None
    if requested is not None:
        for code in requested:  # every code must be a language somebody knows
            if find_language(code) is None and code not in TATOEBA_CODES:
                get_language(code)
    out.mkdir(parents=True, exist_ok=True)
    with DirLock(out):
        manifest = _load_manifest(out)
        for name in cfg.what:
            res = RESOURCES.get(name)
            langs, skipped = res.select_langs(requested)
            if skipped:
                report.skipped_langs[name] = skipped
                if log is not None:
                    print(f"{name}: not available for {', '.join(skipped)}; skipped "
                          f"(available: {', '.join(res.languages)})", file=log)
            if not langs:
                raise ConfigError(f"--langs: {name} covers none of {', '.join(requested or [])}. "
                                  f"Available: {', '.join(res.languages)}.")
            entry = manifest["resources"].get(name, {})
            if (not cfg.force and sorted(entry.get("langs", [])) == sorted(langs)
                    and entry.get("ud_ref", cfg.ud_ref) == cfg.ud_ref and _outputs_intact(out, entry)):
                report.up_to_date.append(name)
                if log is not None:
                    print(f"{name}: up to date ({len(entry['outputs'])} files)", file=log)
                continue
            files: dict[str, Path] = {}
            for src in res.sources(langs, cfg):
                files[src.key] = _obtain(src, cfg, out, manifest, report, log)
            ctx = _Context(out=out, files=files, langs=langs, options=cfg)
            res.install(ctx)
            shutil.rmtree(ctx.staging, ignore_errors=True)
            outputs = {p.relative_to(out).as_posix(): sha256_file(p) for p in ctx.written}
            manifest["resources"][name] = {"langs": langs, "outputs": outputs, "installed_at": _now(),
                                           "sources": sorted(files), "ud_ref": cfg.ud_ref}
            atomic_write_json(out / MANIFEST, manifest)
            report.installed[name] = sorted(outputs)
            if log is not None:
                print(f"{name}: installed {len(outputs)} files", file=log)
    return report


def _obtain(src: Source, cfg: DownloadConfig, out: Path, manifest: dict[str, Any], report: DownloadReport,
            log: IO[str] | None) -> Path:
    """Local path of ``src``: a verified cached copy, a local archive, or a fresh download."""
    if src.key == XtremePanx.key and cfg.panx_archive:
        path = Path(cfg.panx_archive)
        manifest["sources"][src.key] = {"url": path.resolve().as_uri(), "sha256": sha256_file(path),
                                        "bytes": path.stat().st_size, "fetched_at": _now()}
        return path
    url = _source_url(src, cfg)
    if url is None:
        raise ConfigError(
            f"{src.key} cannot be downloaded automatically. Download it by hand from {PANX_MANUAL_URL} "
            "(it saves as AmazonPhotos.zip) and pass --panx-archive PATH, or give --base-url of a mirror "
            f"that serves {src.key}.")
    dest = out / _CACHE / src.key
    known = manifest["sources"].get(src.key)
    if dest.is_file() and not cfg.force and known and known.get("url") == url:
        digest = sha256_file(dest)
        if digest == known.get("sha256") and (src.sha256 is None or src.sha256 == digest):
            report.cached.append(src.key)
            return dest
    if cfg.force:
        dest.unlink(missing_ok=True)
        dest.with_name(dest.name + ".part").unlink(missing_ok=True)
    res = fetch(url, dest, sha256=src.sha256, timeout=cfg.timeout, log=log)
    manifest["sources"][src.key] = {"url": url, "sha256": res.sha256, "bytes": res.bytes,
                                    "published_sha256": src.sha256 is not None, "fetched_at": _now()}
    atomic_write_json(out / MANIFEST, manifest)
    report.fetched.append(src.key)
    return dest


# --------------------------------------------------------------------------- listing what is present


def list_data(data_dir: str | Path) -> list[dict[str, Any]]:
    """One row per data file present: resource, lang, split, path (relative), bytes.

    Recognises the layout of docs/data.md: UD treebanks, the XTREME tasks,
    and the typology files.
    """
    from probes.xtreme import TASKS, available, xtreme_path

    root = Path(data_dir)
    if not root.is_dir():
        raise DataError("Data directory does not exist. Pass --data-dir or set CROSSLING_DATA.", path=root)
    rows: list[dict[str, Any]] = []

    def add(resource: str, lang: str, split: str, path: Path) -> None:
        rel = path.relative_to(root).as_posix() if root in path.parents else str(path)
        rows.append({"resource": resource, "lang": lang, "split": split, "path": rel,
                     "bytes": path.stat().st_size})

    ud = root / "ud"
    if ud.is_dir():
        for path in sorted(ud.glob("UD_*/*.conllu")):
            m = re.match(r"([a-z]{2,3})_([a-z0-9]+)-ud-(train|dev|test)\.conllu\Z", path.name)
            if m:
                known = find_language(m.group(1))
                add(f"ud-{m.group(2)}", known.iso1 if known else m.group(1), m.group(3), path)
    for task in TASKS:
        for lang, split in available(root, task):
            path = xtreme_path(root, task, split, lang)
            add(f"xtreme-{task}", lang, split, path)
            if task == "tatoeba":  # one entry per pair of files
                rows[-1]["bytes"] += path.with_name(path.name.rsplit(".", 1)[0] + ".eng").stat().st_size
    for rel in ("typology/mc4_tokens_billions.csv", "typology/panlex_swadesh.zip"):
        if (root / rel).is_file():
            add("typology", Path(rel).stem, "", root / rel)
    return rows


def _print_listing(rows: list[dict[str, Any]], files: bool, stream: IO[str]) -> None:
    if files:
        for r in rows:
            print(f"{r['resource']:<16} {r['lang']:<5} {r['split']:<6} {r['bytes']:>12,d}  {r['path']}", file=stream)
        return
    groups: dict[tuple[str, str], list[str]] = {}
    sizes: dict[str, int] = {}
    for r in rows:
        groups.setdefault((r["resource"], r["split"]), []).append(r["lang"] or "-")
        sizes[r["resource"]] = sizes.get(r["resource"], 0) + r["bytes"]
    print(f"{'resource':<16} {'split':<6} {'n':>4}  languages", file=stream)
    for (res, split), langs in sorted(groups.items()):
        shown = " ".join(sorted(langs))
        if len(shown) > 100:
            shown = shown[:97] + "..."
        print(f"{res:<16} {split or '-':<6} {len(langs):>4}  {shown}", file=stream)
    total = sum(sizes.values())
    print(f"{len(rows)} entries (a Tatoeba entry is a pair of files), {total / 1e6:.1f} MB", file=stream)


# --------------------------------------------------------------------------- CLI


def build_parser() -> SuiteArgumentParser:
    """The ``python -m probes.data`` argument parser."""
    p = SuiteArgumentParser(prog="python -m probes.data",
                            description="Download the suite's public data sets, or list what a data directory holds.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="{download,list}")
    resources = "; ".join(f"{n}: {RESOURCES.get(n).description}" for n in RESOURCES.names())
    d = sub.add_parser("download", help="download and install data sets (needs internet or a mirror)",
                       description=f"Resources: {resources}.")
    d.add_argument("--what", required=True, help=f"comma-separated: {', '.join(RESOURCES.names())}, or all")
    d.add_argument("--out", required=True, help="output data directory")
    d.add_argument("--langs", help="comma-separated languages (default: each resource's default set)")
    d.add_argument("--base-url", help="mirror serving <base-url>/<key> for every source file")
    d.add_argument("--ud-ref", help="branch or tag of the UD GitHub repositories (default master)")
    d.add_argument("--panx-archive", help="local AmazonPhotos.zip for xtreme-panx (manual download)")
    d.add_argument("--timeout", type=float, help="network timeout in seconds (default 60)")
    d.add_argument("--force", action="store_true", default=None, help="download and install again")
    d.add_argument("--config", help="YAML file with DownloadConfig keys; flags override it")
    d.add_argument("--quiet", action="store_true", help="no progress lines")
    d.add_argument("--debug", action="store_true", help="show tracebacks")
    ls = sub.add_parser("list", help="list the data files present in a data directory")
    ls.add_argument("--data-dir", help="data directory (default $CROSSLING_DATA or ../shared/data)")
    ls.add_argument("--files", action="store_true", help="one line per file instead of a summary")
    ls.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m probes.data``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        rows = list_data(resolve_data_dir(args.data_dir))
        _print_listing(rows, args.files, sys.stdout)
        return 0
    if args.command == "download":
        over: dict[str, Any] = {
            "what": split_list(args.what), "out": args.out,
            "langs": split_list(args.langs) if args.langs else None, "base_url": args.base_url,
            "ud_ref": args.ud_ref, "panx_archive": args.panx_archive, "timeout": args.timeout,
            "force": args.force,
        }
        cfg = load_config(DownloadConfig, args.config, over)
        rep = download(cfg, log=None if args.quiet else sys.stderr)
        n = sum(len(v) for v in rep.installed.values())
        print(f"done: {n} files installed under {cfg.out}"
              f"{'; up to date: ' + ', '.join(rep.up_to_date) if rep.up_to_date else ''}")
        return 0
    raise ConfigError(f"{parser.prog}: choose a command: download or list. "
                      f"Run '{parser.prog} --help'.{suggest(str(args.command), ['download', 'list'])}")


if __name__ == "__main__":
    raise SystemExit(run_main(main))
