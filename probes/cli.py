"""Shared command-line plumbing: one error policy for every entry point.

:func:`run_main` calls a ``main(argv)`` function; a :class:`SuiteError` is
printed as one line (``error: ...``) and the process exits with the error's
documented exit code (see :mod:`probes.errors`), without a traceback unless
``--debug`` is among the arguments. An ``OSError`` the suite did not turn into
a :class:`SuiteError` itself (a path under a read-only file system, a file
where a directory is needed, a symlink loop, a full disk, ...) is mapped here,
once for every command, by :func:`os_error`. Python warnings are collected
while the command runs and printed once per kind at the end
(``warning: 3 x RuntimeWarning: ...``), without source lines.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import warnings
from collections.abc import Callable, Sequence

from probes.errors import ConfigError, PathError, ResourceError, SuiteError, short_repr

__all__ = ["run_main", "SuiteArgumentParser", "os_error", "MESSAGE_LIMIT"]

#: The longest error line printed (characters); the rest is cut, saying so.
MESSAGE_LIMIT = 2000


class SuiteArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors exit with code 2 and one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}. Run '{self.prog} --help' for the options.")


# errno -> (what happened, what to do)
_OS_ADVICE: dict[int, tuple[str, str]] = {
    errno.EACCES: ("permission denied", "fix the permissions or choose a path you can write (e.g. --out, "
                   "--cache-dir, $HOME)"),
    errno.EPERM: ("operation not permitted", "fix the permissions or choose another path"),
    errno.EROFS: ("the file system is read-only", "choose a path on a writable file system (e.g. --out, "
                  "--cache-dir)"),
    errno.EEXIST: ("it already exists and is not a directory the suite can use", "remove it or choose another path"),
    errno.ENOTDIR: ("a part of the path is a file, not a directory", "remove that file or choose another path"),
    errno.EISDIR: ("it is a directory where a file is needed", "give a file path"),
    errno.ELOOP: ("too many levels of symbolic links (a symlink loop)", "fix or remove the symbolic link"),
    errno.ENAMETOOLONG: ("the file name is too long", "choose a shorter path"),
    errno.ENOENT: ("no such file or directory", "check the path"),
    errno.ENODEV: ("no such device", "choose a path on a regular file system"),
    errno.ENXIO: ("no such device or address", "choose a regular file"),
    errno.EINVAL: ("invalid argument for this file system", "choose a path on a regular file system"),
    errno.EBUSY: ("the device or file is busy", "retry later or choose another path"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) and rerun"),
}
_RESOURCE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.ENOMEM}


def os_error(exc: OSError) -> SuiteError:
    """The suite's error for an ``OSError``: one line naming the path and what to do.

    A full disk, a file-size limit (``ulimit -f``), a quota or memory becomes a
    :class:`~probes.errors.ResourceError` (exit 7); every other operating-system
    error on a path becomes a :class:`~probes.errors.PathError` (exit 8).

    Examples
    --------
    >>> e = os_error(PermissionError(13, "Permission denied", "/x"))
    >>> type(e).__name__, e.exit_code
    ('PathError', 8)
    """
    if isinstance(exc, SuiteError):
        return exc
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    where = " and ".join(short_repr(os.fsdecode(p) if isinstance(p, bytes) else str(p)) for p in paths)
    target = f"Cannot use {where}" if where else "An operating-system call failed"
    if exc.errno in _RESOURCE or (exc.errno is None and "written" in str(exc)):
        return ResourceError(f"{target}: {exc.strerror or exc}. Free space or memory, or raise the limit "
                             "(ulimit -f), then rerun the same command: finished parts are kept.")
    what, fix = _OS_ADVICE.get(exc.errno or -1, (exc.strerror or str(exc) or type(exc).__name__,
                                                 "check the path and rerun"))
    return PathError(f"{target}: {what}. {fix[0].upper() + fix[1:]}, then rerun the same command.")


class _WarningSummary:
    """Collects warnings during a command; prints one line per kind at the end."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self._old_show = warnings.showwarning

    def show(self, message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        text = str(message).strip().splitlines()[0] if str(message).strip() else ""
        key = (category.__name__, text[:300])
        self.counts[key] = self.counts.get(key, 0) + 1

    def __enter__(self) -> _WarningSummary:
        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.showwarning = self.show
        return self

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)

    def emit(self) -> None:
        for (cat, text), n in self.counts.items():
            print(f"warning: {n} x {cat}: {text}", file=sys.stderr)
        self.counts.clear()


def _print_error(exc: BaseException) -> None:
    msg = " ".join(str(exc).split("\n"))
    if len(msg) > MESSAGE_LIMIT:
        msg = msg[:MESSAGE_LIMIT] + f"... (message cut; {len(msg)} characters)"
    print(f"error: {msg}", file=sys.stderr)


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)`` under the suite's error policy and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    summary = _WarningSummary()
    try:
        with summary:
            code = main(args)
        summary.emit()
        return int(code or 0)
    except SuiteError as exc:
        if debug:
            raise
        _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        summary.emit()
        print("interrupted: finished parts are saved; rerun the same command to resume.", file=sys.stderr)
        return 130
    except OSError as exc:
        if debug:
            raise
        err = os_error(exc)
        _print_error(err)
        return err.exit_code
    except MemoryError:
        if debug:
            raise
        _print_error(ResourceError("Out of memory. Use smaller inputs (--limit, fewer languages or layers) "
                                   "or a machine with more memory, then rerun."))
        return ResourceError.exit_code
