"""Shared command-line plumbing: one error policy for every entry point.

:func:`run_main` calls a ``main(argv)`` function; a :class:`SuiteError` is
printed as one line (``error: ...``) and the process exits with the error's
documented exit code (see :mod:`crossling.errors`), without a traceback unless
``--debug`` is among the arguments. An ``OSError`` the suite did not turn into
a :class:`SuiteError` itself (a path under a read-only file system, a file
where a directory is needed, a symlink loop, a full disk, ...) is mapped here,
once for every command, by :func:`os_error`. Python warnings are collected
while the command runs and printed once per kind at the end
(``warning: 3 x RuntimeWarning: ...``), without source lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import inspect
import os
import re
import sys
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from crossling.errors import ConfigError, PathError, ResourceError, SuiteError, short_repr

__all__ = ["run_main", "SuiteArgumentParser", "os_error", "MESSAGE_LIMIT", "config_parser", "parse_command",
           "overrides_from_args", "field_docs", "print_dry_run", "SHARED_FLAGS", "FIELD_ALIASES"]

C = TypeVar("C")

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
    :class:`~crossling.errors.ResourceError` (exit 7); every other operating-system
    error on a path becomes a :class:`~crossling.errors.PathError` (exit 8).

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

    def __exit__(self, *exc: Any) -> None:
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


# --------------------------------------------------------------------------- the generated command line

#: Shared flags and what they do; every command shows the ones that make sense for it.
SHARED_FLAGS = {
    "--config": "YAML config file (keys = the command's config fields)",
    "--set": "any config key, e.g. --set train_cap=500 (repeatable; values are YAML)",
    "--dry-run": "print the resolved config and what would run, then stop without writing anything",
    "--quiet": "no progress bars",
    "--debug": "show tracebacks instead of one-line errors",
}

#: Extra spellings accepted for a field (kept for scripts written before 0.2; shown in --help).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "langs": ("--languages",),
    "languages": ("--langs",),
    "layers": ("--layer",),
    "data_dir": ("--data",),
}

_ATTR_HEAD = re.compile(r"^(?P<names>[A-Za-z_][\w, ]*?)\s*:\s*(?P<type>.*)$")


def field_docs(cls: type) -> dict[str, str]:
    """Help text of each config field, read from the numpydoc ``Attributes`` section.

    A line ``name : type`` starts a field; the indented lines below it are its
    description. ``a, b, c : ...`` documents several fields at once.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Cfg:
    ...     '''A config.
    ...
    ...     Attributes
    ...     ----------
    ...     seeds : list of int
    ...         Random seeds, one run each.
    ...     '''
    ...     seeds: list = None
    >>> field_docs(Cfg)["seeds"]
    'Random seeds, one run each. [list of int]'
    """
    doc = inspect.getdoc(cls) or ""
    lines = doc.splitlines()
    out: dict[str, str] = {}
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "Attributes") + 2
    except StopIteration:
        return out
    names: list[str] = []
    typ = ""
    body: list[str] = []

    def flush() -> None:
        text = " ".join(body).strip()
        if typ:
            text = f"{text} [{typ}]" if text else f"[{typ}]"
        for n in names:
            out[n] = text

    for ln in lines[start:]:
        if ln and not ln.startswith(" "):
            if ln.strip() and set(ln.strip()) <= {"-"}:  # the next section's underline
                break
            m = _ATTR_HEAD.match(ln.strip())
            if m is None:
                break
            flush()
            names = [n.strip() for n in m.group("names").split(",") if n.strip()]
            typ, body = m.group("type").strip(), []
        elif ln.strip():
            body.append(ln.strip())
    flush()
    return out


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _constraint_text(cls: type, name: str) -> str:
    from crossling.config import _describe

    cons = getattr(cls, "_parameter_constraints", {}).get(name)
    if not cons:
        return ""
    return " Allowed: " + " or ".join(_describe(c) for c in cons) + "."


def config_parser(
    cls: type,
    *,
    prog: str,
    description: str,
    exclude: Sequence[str] = (),
    aliases: Mapping[str, Sequence[str]] | None = None,
    epilog: str | None = None,
) -> SuiteArgumentParser:
    """An argument parser generated from a config dataclass.

    Every field ``name`` of ``cls`` becomes ``--name`` (underscores as dashes;
    booleans as ``--name/--no-name``) with its help text from the class
    docstring and its declared constraints (``_parameter_constraints``); values
    are validated once, by :func:`crossling.config.load_config`. The shared
    flags ``--config``, ``--set KEY=VALUE``, ``--dry-run`` and ``--debug`` are
    always there; ``--quiet`` when the config has a ``progress`` or ``quiet``
    field; ``--out``, ``--data-dir``, ``--langs``, ``--layers`` and
    ``--overwrite`` whenever the config has those fields.

    Parameters
    ----------
    cls : dataclass type
        The command's config.
    prog, description : str
        Shown by ``--help``.
    exclude : sequence of str
        Fields without a flag of their own (still settable with ``--set``).
    aliases : mapping, optional
        Extra spellings per field, on top of :data:`FIELD_ALIASES`.
    epilog : str, optional
        Text after the options in ``--help``.

    Returns
    -------
    SuiteArgumentParser
    """
    p = SuiteArgumentParser(prog=prog, description=description, epilog=epilog)
    shared = p.add_argument_group("shared options (every command)")
    shared.add_argument("--config", metavar="PATH", help=SHARED_FLAGS["--config"])
    shared.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="set_values",
                        help=SHARED_FLAGS["--set"])
    shared.add_argument("--dry-run", action="store_true", dest="dry_run", help=SHARED_FLAGS["--dry-run"])
    names = [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]
    if "progress" in names or "quiet" in names:
        shared.add_argument("--quiet", "--no-progress", action="store_true", dest="quiet_flag",
                            help=SHARED_FLAGS["--quiet"])
    shared.add_argument("--debug", action="store_true", help=SHARED_FLAGS["--debug"])
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    group = p.add_argument_group(f"{cls.__name__} fields (override the config file; see also --set)")
    extra = dict(aliases or {})
    skip = set(exclude) | {"progress", "quiet"}
    for name in names:
        if name in skip:
            continue
        flags = [_flag(name), *[a for a in (*FIELD_ALIASES.get(name, ()), *extra.get(name, ())) if a != _flag(name)]]
        help_text = docs.get(name, "").replace("%", "%%") + _constraint_text(cls, name).replace("%", "%%")
        default = defaults.get(name)
        if default is not dataclasses.MISSING and not isinstance(default, (list, dict)) and default != "":
            shown = "none" if default is None else default
            help_text += f" (default: {shown})".replace("%", "%%")
        if hints.get(name) is bool:
            group.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        else:
            group.add_argument(*flags, dest=name, default=None, metavar=name.upper(), help=help_text)
    p.set_defaults(_config_class=cls, _field_names=[n for n in names if n not in skip])
    return p


def overrides_from_args(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The config values given on the command line (flags, then ``--set``, then ``--quiet``)."""
    from crossling.config import _coerce, parse_yaml_value

    hints = typing.get_type_hints(cls)
    over: dict[str, Any] = {}
    for name in getattr(args, "_field_names", []):
        value = getattr(args, name, None)
        if value is None:
            continue
        tp = hints.get(name)
        if isinstance(value, str) and (tp is dict or typing.get_origin(tp) is dict):
            value = parse_yaml_value(value, _flag(name))
        elif isinstance(value, str):
            try:  # a wrong type is reported with the flag's own spelling (``--limit many``)
                _coerce(name, value, tp)
            except ConfigError as exc:
                raise ConfigError(f"{_flag(name)} {short_repr(value)}: {exc}") from None
        over[name] = value
    for item in getattr(args, "set_values", []) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE, got {short_repr(item)}. Example: --set seeds=0,1,2.")
        over[key.strip().replace("-", "_")] = parse_yaml_value(value, f"--set {key.strip()}")
    if getattr(args, "quiet_flag", False):
        names = {f.name for f in dataclasses.fields(cls)}
        over["progress" if "progress" in names else "quiet"] = "progress" not in names
    return over


def parse_command(
    cls: type[C],
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    parser: argparse.ArgumentParser | None = None,
    **parser_options: Any,
) -> tuple[C, argparse.Namespace]:
    """Parse a command line into a validated config and the parsed namespace.

    Precedence, lowest first: the dataclass defaults, ``--config``, the field
    flags, ``--set``. Validation happens once, in
    :func:`crossling.config.load_config`; a config with a ``resolved()``
    method is replaced by its result (no ``None`` left for paths such as
    ``out`` and ``data_dir``).

    Parameters
    ----------
    cls : dataclass type
    argv : sequence of str or None
    prog, description : str
    parser : ArgumentParser, optional
        A parser from :func:`config_parser` with command-specific arguments added.
    **parser_options
        Passed to :func:`config_parser` when ``parser`` is not given.

    Returns
    -------
    (config, namespace)
    """
    from crossling.config import load_config

    p = parser or config_parser(cls, prog=prog, description=description, **parser_options)
    args = p.parse_args(argv)
    cfg = load_config(cls, args.config, overrides_from_args(cls, args))
    resolve = getattr(cfg, "resolved", None)
    if callable(resolve):
        cfg = resolve()
    return cfg, args


def print_dry_run(cfg: Any, plan: str | Sequence[str] = ()) -> int:
    """Print the resolved config as YAML and the plan (lines starting with ``#``); return 0."""
    import yaml

    from crossling.config import config_to_dict

    print(yaml.safe_dump(config_to_dict(cfg), sort_keys=True, allow_unicode=True), end="")
    for line in [plan] if isinstance(plan, str) else plan:
        if line:
            print(f"# {line}")
    print("# dry run: nothing was computed or written")
    return 0
