"""The suite's error types and their documented exit codes.

Every error a user can cause (bad input, bad configuration, missing data) is a
:class:`SuiteError`. Command-line entry points catch it and print one line
naming the file, line or parameter and the fix, then exit with the class's
``exit_code`` (no traceback unless ``--debug`` is given).

=========  ==========================  =============================================================
exit code  class                       meaning
=========  ==========================  =============================================================
1          (any other exception)       a bug in the suite: please report it
2          :class:`ConfigError`        bad parameter, option, config key/value
3          :class:`DataError`          malformed or missing input data
4          :class:`ModelError`         the model cannot be loaded or misbehaves
5          :class:`StoreError`         a result store is corrupt or mismatched
6          :class:`LockError`          another process writes the same output
7          :class:`ResourceError`      disk full, file-size limit, memory
8          :class:`PathError`          a path cannot be used (permission, read-only, not a directory)
9          :class:`EmptyResultError`   nothing that was asked for was produced (every cell failed)
130        KeyboardInterrupt           interrupted (partial work is resumable)
=========  ==========================  =============================================================
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "SuiteError",
    "ConfigError",
    "DataError",
    "ModelError",
    "StoreError",
    "LockError",
    "ResourceError",
    "PathError",
    "EmptyResultError",
    "short_repr",
    "suggest",
]

#: The longest quoted value in an error message (a config value can be megabytes).
REPR_LIMIT = 120


def short_repr(value: object, limit: int = REPR_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, saying how long it was.

    Every error message that quotes a user's value uses this, so that a huge
    value (an expanded YAML alias, a long line) cannot make a huge message.

    Examples
    --------
    >>> short_repr("abc")
    "'abc'"
    >>> short_repr("x" * 1000, limit=20)
    "'xxxxxxxxxxxxxxxxx... (1002 characters)"
    """
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails must not hide the real error
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    return text[: max(limit - 2, 1)] + f"... ({len(text)} characters)"


class SuiteError(Exception):
    """Base class of every error a user of the suite can cause."""

    exit_code = 1


class ConfigError(SuiteError, ValueError):
    """A parameter, option or configuration value is invalid."""

    exit_code = 2


class DataError(SuiteError, ValueError):
    """Input data is malformed or missing.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    path : str or path-like, optional
        The offending file; prefixed to the message.
    line : int, optional
        1-based line number in ``path``.
    """

    exit_code = 3

    def __init__(self, message: str, path: object | None = None, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "") + ": "
        super().__init__(where + message)


class ModelError(SuiteError, RuntimeError):
    """A model cannot be loaded, or produced invalid output (NaN, Inf)."""

    exit_code = 4


class StoreError(SuiteError, RuntimeError):
    """An on-disk store is corrupt, incomplete or does not match the config."""

    exit_code = 5


class LockError(SuiteError, RuntimeError):
    """Another live process holds the lock of an output directory."""

    exit_code = 6


class ResourceError(SuiteError, OSError):
    """The machine ran out of a resource (disk space, file-size limit)."""

    exit_code = 7


class PathError(SuiteError, OSError):
    """A path cannot be used: permission, read-only file system, wrong file type, symlink loop."""

    exit_code = 8


class EmptyResultError(SuiteError, RuntimeError):
    """A command produced none of the results it was asked for (every cell failed, no table)."""

    exit_code = 9


def suggest(value: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choices, or ``""``.

    Parameters
    ----------
    value : str
        The unknown name the user gave.
    choices : iterable of str
        The valid names.
    n : int, default=3
        At most this many suggestions.

    Examples
    --------
    >>> suggest("upso", ["upos", "deprel"])
    " Did you mean 'upos'?"
    """
    value = str(value)
    if len(value) > REPR_LIMIT:  # no sensible suggestion for a huge value; difflib is quadratic
        return ""
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=n, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
