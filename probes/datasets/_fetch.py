"""Fetching one file (resumable, checksummed) and unpacking archives safely.

:func:`fetch` streams into ``<dest>.part`` and renames when complete (HTTP
``Range`` resumes an interrupted download); :func:`check_archive` refuses
absolute member names, ``..`` components, links and device files before
:func:`extract_archive` writes anything.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from crossling.errors import ConfigError, DataError, ResourceError
from crossling.io import (
    atomic_write,
    fsync_dir,
    sha256_file,
)

__all__ = ["MANIFEST", "Source", "fetch", "check_archive", "extract_archive"]


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
