"""Typed configurations: YAML in, validated dataclasses out, saved resolved.

Every command has one dataclass config. :func:`load_config` merges, in order,
the dataclass defaults, a YAML file and command-line overrides, checks every
key against the dataclass fields (unknown keys get the closest valid key
suggested), coerces values to the declared types and calls the dataclass's own
``validate()`` once. :func:`save_config` writes the resolved config next to the
results so that every result can be reproduced from it.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from probes.errors import ConfigError, suggest

__all__ = ["load_yaml", "load_config", "config_to_dict", "save_config", "split_list"]

C = TypeVar("C")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with ``yaml.safe_load`` (never executes tags).

    Raises
    ------
    ConfigError
        If the file is missing, not valid YAML (the message gives the line),
        or not a mapping at the top level.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Config file {str(p)!r} does not exist. Pass an existing YAML file to --config.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Config file {str(p)!r} is not UTF-8 text ({exc.reason}). Save it as UTF-8.") from None
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"Config file {str(p)!r} is nested too deeply to be a configuration; "
                          "use a flat mapping of keys to values.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"Config file {str(p)!r} is not valid YAML{where}: {problem}.") from None
    except (ValueError, OverflowError) as exc:  # PyYAML's own crashes, e.g. an escape beyond U+10FFFF
        raise ConfigError(f"Config file {str(p)!r} is not valid YAML: {exc}. Check escape sequences and "
                          "numbers in quoted strings.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config file {str(p)!r} must hold a mapping of keys to values at the top level, "
            f"got a {type(data).__name__}."
        )
    return data


def split_list(value: Any) -> list[str]:
    """Turn ``"a,b"``, ``["a", "b"]`` or ``"a"`` into a list of stripped strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for v in value:
            out.extend(split_list(v) if isinstance(v, str) else [str(v)])
        return out
    return [str(value)]


def _coerce(name: str, value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if isinstance(value, str) and value.lower() in ("none", "null") and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(name, value, a)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"Bad value {value!r} for {name!r}.")
    if origin in (list, tuple):
        inner = args[0] if args else str
        items = split_list(value) if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            items = [items]
        return [_coerce(name, v, inner) for v in items]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"Config key {name!r} must be a mapping, got {value!r}.")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"Config key {name!r} must be true or false, got {value!r}.")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"Config key {name!r} must be an integer, got {value!r}.")
        try:
            return int(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"Config key {name!r} must be an integer, got {value!r}.") from None
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"Config key {name!r} must be a number, got {value!r}.") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"Config key {name!r} must be a string, got {value!r}.")
        return str(value)
    return value


def load_config(
    cls: type[C],
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> C:
    """Build a validated config of dataclass type ``cls``.

    Parameters
    ----------
    cls : dataclass type
        The config class; it may define ``validate(self)``.
    path : str or Path, optional
        A YAML file whose keys are fields of ``cls``.
    overrides : mapping, optional
        Values that win over the file (e.g. from command-line flags); ``None``
        values are ignored.

    Returns
    -------
    config : cls
        The resolved, validated configuration.

    Raises
    ------
    ConfigError
        Unknown keys (with the closest valid key suggested) or bad values.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    merged: dict[str, Any] = {}
    sources: list[tuple[str, Mapping[str, Any]]] = []
    if path is not None:
        sources.append((f"config file {str(path)!r}", load_yaml(path)))
    if overrides:
        sources.append(("command line", {k: v for k, v in overrides.items() if v is not None}))
    for where, data in sources:
        for key, value in data.items():
            k = str(key).replace("-", "_")
            if k not in fields:
                raise ConfigError(
                    f"Unknown config key {key!r} in {where}.{suggest(k, fields)} "
                    f"Valid keys: {', '.join(sorted(fields))}."
                )
            merged[k] = _coerce(k, value, hints[k])
    cfg = cls(**merged)
    validate = getattr(cfg, "validate", None)
    if callable(validate):
        validate()
    return cfg


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-able dict of a dataclass config (paths become strings)."""

    def conv(v: Any) -> Any:
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        return v

    return {k: conv(v) for k, v in dataclasses.asdict(cfg).items()}


def save_config(cfg: Any, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    from probes.io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=True, allow_unicode=True))


def dumps_config(cfg: Any) -> str:
    """The resolved config as canonical JSON (for hashing)."""
    return json.dumps(config_to_dict(cfg), sort_keys=True)
