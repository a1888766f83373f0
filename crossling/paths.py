"""Default locations: the data directory and the cache directory."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "default_data_dir", "resolve_data_dir", "default_cache_dir"]

#: The source checkout's root (the folder holding pyproject.toml); ``../shared/data`` is resolved beside it.
REPO_ROOT = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """``$CROSSLING_DATA``, else ``../shared/data`` beside the repository root."""
    env = os.environ.get("CROSSLING_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The one data-directory resolver: ``data_dir``, else :func:`default_data_dir`.

    Every command resolves ``--data-dir`` / ``data_dir:`` through this function so
    that the precedence (explicit value, then ``$CROSSLING_DATA``, then
    ``../shared/data`` beside the repository) is the same everywhere.

    Examples
    --------
    >>> str(resolve_data_dir("/tmp/data"))
    '/tmp/data'
    """
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir)
    return default_data_dir()


def default_cache_dir() -> Path:
    """``$CROSSLING_CACHE``, else ``~/.cache/crossling`` (converted checkpoints)."""
    return Path(os.environ.get("CROSSLING_CACHE", Path.home() / ".cache" / "crossling"))
