"""Crash-safe file writing, checksums and output-directory locks.

Nothing the suite writes is ever visible under its final name before it is
complete: data goes to a temporary name in the same directory, is fsynced,
then renamed (atomic on POSIX). A full disk or a file-size limit becomes a
:class:`~crossling.errors.ResourceError` and leaves no partial file behind.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from crossling.errors import LockError, ResourceError, StoreError, short_repr

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "sha256_file",
    "remove_stale_temps",
    "DirLock",
    "fsync_dir",
    "file_mode",
    "remove_owned",
    "refuse_poorer_replacement",
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


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # not thread-safe, hence only the fallback
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file: ``0o666 & ~umask``."""
    return 0o666 & ~_umask()


def _mkstemp(path: Path) -> tuple[int, str]:
    """A temporary file beside ``path`` with the mode the umask gives (mkstemp alone makes it 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        os.fchmod(fd, file_mode())
    except OSError:
        pass
    return fd, tmp


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
    fd, tmp = _mkstemp(path)
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


def atomic_save(path: str | Path, writer: Callable[[str], object]) -> None:
    """Call ``writer(tmp_path)`` then rename ``tmp_path`` to ``path`` atomically.

    For libraries that insist on writing to a path themselves (Parquet, NumPy).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _mkstemp(path)
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


#: Names of the suite's own temporary files: ``.<name>.<mkstemp suffix>.tmp`` (atomic writer) and
#: ``.<name>.tmp-<pid>`` (shard and checkpoint directories). Nothing else is ever removed as stale.
_TEMP_NAME = re.compile(r"\..+\.[A-Za-z0-9_]{1,16}\.tmp|\..+\.tmp-[0-9]+")


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
            found.extend(p for p in base.rglob(".*.tmp*") if _TEMP_NAME.fullmatch(p.name))
    if top and root.is_dir():
        found.extend(p for p in root.glob(".*.tmp") if not p.is_dir() and _TEMP_NAME.fullmatch(p.name))
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


def _pid_max() -> int:
    try:
        return int(Path("/proc/sys/kernel/pid_max").read_text())
    except (OSError, ValueError):
        return 1 << 22


def _pid_alive(pid: int) -> bool:
    if not 0 < pid <= _pid_max():
        return False  # no process can have this id
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


#: A lock file that holds no owner (garbage, empty) is taken over once it is this old (s): a live
#: writer fills it within microseconds of creating it.
GARBAGE_LOCK_AGE = 5.0


class DirLock:
    """An exclusive lock on an output directory (``<dir>/.lock`` with the owner's pid).

    A second process that tries to write the same directory gets a
    :class:`~crossling.errors.LockError` naming the owner. A lock left by a
    process that died (SIGKILL) is detected by its pid and taken over; so is a
    lock file holding garbage (older than :data:`GARBAGE_LOCK_AGE` seconds) or
    a pid no process can have.

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

    def _owner(self) -> tuple[dict[str, Any] | None, bool]:
        """(owner record or None, whether the lock is stale and may be taken over)."""
        import time

        if self.path.is_dir() or self.path.is_symlink():
            raise LockError(f"The lock file {str(self.path)!r} is not a regular file; remove it and rerun.")
        try:
            raw = self.path.read_bytes()[:4096]
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return None, True
        except OSError as exc:
            raise LockError(f"Cannot read the lock file {str(self.path)!r} ({exc.strerror}); "
                            "fix its permissions or delete it if no process writes there.") from None
        try:
            owner = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            owner = None
        pid = owner.get("pid") if isinstance(owner, dict) else None
        if not isinstance(pid, int) or isinstance(pid, bool):
            return None, age >= GARBAGE_LOCK_AGE
        host = owner.get("host")
        same_host = host in (None, socket.gethostname())
        return owner, same_host and not _pid_alive(pid)

    def acquire(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(3):
            try:
                fd = os.open(str(self.path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner, stale = self._owner()
                if stale:
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                if owner is None:
                    raise LockError(
                        f"Output directory {str(self.directory)!r} has a lock file {str(self.path)!r} that names "
                        "no owner (being written, or garbage). Retry in a few seconds; if it stays, delete the "
                        "lock file."
                    ) from None
                raise LockError(
                    f"Output directory {str(self.directory)!r} is in use by process {short_repr(owner.get('pid'))} "
                    f"on {short_repr(owner.get('host', '?'))} (lock file {str(self.path)!r}). Wait for it to "
                    "finish, or choose another output directory; if that process is gone, delete the lock file."
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


def remove_owned(root: str | Path, files: Iterable[str], *, what: str) -> list[Path]:
    """Delete ``files`` (paths relative to ``root``) that the suite wrote, and nothing else.

    Callers prove ownership first (a manifest or marker file the suite wrote
    lists ``files``); this function then refuses any listed path that leaves
    ``root`` or is not a plain file, deletes the listed files, and removes the
    directories that became empty (never ``root`` itself, never a directory
    still holding something the suite did not list).

    Parameters
    ----------
    root : path
        The output directory.
    files : iterable of str
        Relative paths taken from the suite's own record.
    what : str
        What the record is (named in errors), e.g. ``"manifest.json"``.

    Returns
    -------
    list of Path
        The files removed.

    Raises
    ------
    StoreError
        If a listed path is absolute, escapes ``root`` or is not a regular file.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "a").mkdir(); _ = (d / "a" / "x.npy").write_bytes(b"1")
    >>> [p.name for p in remove_owned(d, ["a/x.npy"], what="manifest")], (d / "a").exists()
    (['x.npy'], False)
    """
    root = Path(root)
    base = root.resolve()
    targets = []
    for rel in files:
        rel_s = str(rel)
        p = root / rel_s
        bad = Path(rel_s).is_absolute() or ".." in Path(rel_s).parts
        if not bad:
            try:
                p.parent.resolve().relative_to(base)
            except ValueError:
                bad = True
        if bad:
            raise StoreError(f"{what} lists {short_repr(rel_s)}, which is outside {str(root)!r}; refusing to delete "
                             "anything. The record was not written by this suite: delete by hand.")
        if p.is_symlink() or (p.exists() and not p.is_file()):
            raise StoreError(f"{what} lists {str(p)!r}, which is not a regular file the suite wrote; refusing to "
                             "delete anything. Remove it by hand or choose another output directory.")
        targets.append(p)
    removed = []
    for p in targets:
        try:
            p.unlink()
        except FileNotFoundError:
            continue
        removed.append(p)
    for d in sorted({q.parent for q in targets}, key=lambda q: len(q.parts), reverse=True):
        while d != root and base in d.resolve().parents:
            try:
                d.rmdir()  # only when empty
            except OSError:
                break
            d = d.parent
    return removed


def refuse_poorer_replacement(path: str | Path, new_rows: int, *, force: bool, option: str = "--force",
                              count: Callable[[str], int] | None = None) -> None:
    """Refuse to replace ``path`` by content with fewer result rows unless ``force``.

    A writer calls this before replacing an existing report: a run that found
    nothing must not silently overwrite a file that holds results.

    Parameters
    ----------
    path : path
        The file about to be replaced.
    new_rows : int
        Result rows (e.g. Markdown table rows) of the new content.
    force : bool
        Replace anyway (the user's ``--force``).
    count : callable, optional
        ``count(old_text) -> rows``; default counts Markdown table rows.

    Raises
    ------
    StoreError
        If ``path`` holds more result rows than the new content.
    """
    path = Path(path)
    if force or not path.is_file():
        return
    try:
        old = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    old_rows = count(old) if count else markdown_rows(old)
    if old_rows > new_rows:
        raise StoreError(
            f"Refusing to replace {str(path)!r} ({old_rows} result rows) with a version holding {new_rows}: "
            f"the run gave less than the file already has. Check the run directory, or pass {option} to replace it."
        )


def markdown_rows(text: str) -> int:
    """Number of Markdown table body rows in ``text`` (lines starting with ``|``, minus headers and rules)."""
    rows = 0
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("|") and not set(s) <= set("|-: "):
            rows += 1
    return rows
