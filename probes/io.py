"""Crash-safe file writing, checksums and output-directory locks.

Nothing the suite writes is ever visible under its final name before it is
complete: data goes to a temporary name in the same directory, is fsynced,
then renamed (atomic on POSIX). A full disk or a file-size limit becomes a
:class:`~probes.errors.ResourceError` and leaves no partial file behind.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from probes.errors import LockError, ResourceError

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "sha256_file",
    "remove_stale_temps",
    "DirLock",
    "fsync_dir",
]

# Writing past RLIMIT_FSIZE raises SIGXFSZ, which kills the process by default;
# ignoring it turns the event into an EFBIG OSError we can report.
try:  # pragma: no cover - platform dependent
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
except (AttributeError, ValueError):
    pass

_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def is_disk_full(exc: OSError) -> bool:
    """True for a full disk / file-size limit, including numpy's errno-less short writes."""
    if exc.errno in _FULL:
        return True
    return exc.errno is None and "requested and" in str(exc) and "written" in str(exc)


def disk_full_error(path: object) -> ResourceError:
    """The suite's error for a write that hit a full disk or a file-size limit."""
    return ResourceError(
        f"Could not write {str(path)!r}: no space left or file-size limit reached. "
        "Free space or raise the limit, then rerun the same command: finished parts are kept."
    )


def fsync_dir(path: str | Path) -> None:
    """fsync a directory so a rename inside it is durable."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[BinaryIO]:
    """Open a temporary file that replaces ``path`` only if the block succeeds.

    Raises
    ------
    ResourceError
        If the disk is full or a file-size limit is hit; the temporary file is
        removed and ``path`` keeps its previous content (if any).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    ok = False
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh  # type: ignore[misc]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
        ok = True
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise
    finally:
        if not ok:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def atomic_save(path: str | Path, writer: Callable[[str], None]) -> None:
    """Call ``writer(tmp_path)`` then rename ``tmp_path`` to ``path`` atomically.

    For libraries that insist on writing to a path themselves (Parquet, NumPy).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    os.close(fd)
    ok = False
    try:
        writer(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
        ok = True
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise
    finally:
        if not ok:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def remove_stale_temps(root: str | Path, subdirs: Iterable[str] = (), *, top: bool = True) -> list[Path]:
    """Delete the temporary files and directories a killed writer left behind.

    :func:`atomic_write` and :func:`atomic_save` write to ``.<name>.<random>.tmp``
    beside the final file; a SIGKILL between creating and renaming it leaves
    that file behind (never a partial file under the final name). Call this
    only while holding the directory's :class:`DirLock`, so that no live
    writer's temporary file is removed.

    Parameters
    ----------
    root : path
        The output directory.
    subdirs : iterable of str, default=()
        Subdirectories of ``root`` searched recursively for ``.*.tmp*``
        entries (files, and directories such as ``.shard-00003.tmp-<pid>``).
    top : bool, default=True
        Also remove ``.*.tmp`` files directly in ``root``.

    Returns
    -------
    list of Path
        What was removed (deepest first).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "cells").mkdir(), (d / "cells" / ".x.json.ab12.tmp").write_text("{")
    >>> [p.name for p in remove_stale_temps(d, ["cells"])]
    ['.x.json.ab12.tmp']
    """
    root = Path(root)
    found: list[Path] = []
    for sub in subdirs:
        base = root / sub
        if base.is_dir():
            found.extend(base.rglob(".*.tmp*"))
    if top and root.is_dir():
        found.extend(p for p in root.glob(".*.tmp") if not p.is_dir())
    removed = []
    for p in sorted(set(found), key=lambda q: len(q.parts), reverse=True):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                p.unlink()
            except FileNotFoundError:
                continue
        removed.append(p)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DirLock:
    """An exclusive lock on an output directory (``<dir>/.lock`` with the owner's pid).

    A second process that tries to write the same directory gets a
    :class:`~probes.errors.LockError` naming the owner. A lock left by a
    process that died (SIGKILL) is detected by its pid and taken over.

    Examples
    --------
    >>> import tempfile
    >>> with DirLock(tempfile.mkdtemp()):
    ...     pass
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.path = self.directory / ".lock"
        self._held = False

    def acquire(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(3):
            try:
                fd = os.open(str(self.path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    owner = json.loads(self.path.read_text() or "{}")
                except (OSError, ValueError):
                    owner = {}
                pid = int(owner.get("pid", -1)) if str(owner.get("pid", "")).lstrip("-").isdigit() else -1
                same_host = owner.get("host") in (None, me["host"])
                if pid > 0 and same_host and not _pid_alive(pid):
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                raise LockError(
                    f"Output directory {str(self.directory)!r} is in use by process {owner.get('pid', '?')} "
                    f"on {owner.get('host', '?')} (lock file {str(self.path)!r}). Wait for it to finish, "
                    "or choose another output directory; if that process is gone, delete the lock file."
                ) from None
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self._held = True
            return
        raise LockError(f"Could not take the lock {str(self.path)!r}; retry.")

    def release(self) -> None:
        if self._held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self._held = False

    def __enter__(self) -> DirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
