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
import math
import numbers
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml

from crossling.errors import ConfigError, short_repr, suggest

__all__ = ["load_yaml", "load_config", "config_to_dict", "save_config", "split_list", "Interval", "Options",
           "check_params", "validate_declared", "parse_yaml_value", "MAX_CONFIG_BYTES", "MAX_CONFIG_DEPTH", "MAX_CONFIG_VALUES"]

C = TypeVar("C")

#: Bounds of a configuration file, checked while it is parsed (before any value is built).
MAX_CONFIG_BYTES = 1 << 20
#: Deepest nesting of mappings/lists accepted in a YAML config (bounds hostile files).
MAX_CONFIG_DEPTH = 32
#: Values after expanding every alias (a "billion laughs" file of 300 bytes expands to 10^9).
MAX_CONFIG_VALUES = 100_000


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that bounds nesting depth and alias uses while composing."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_CONFIG_VALUES:
                raise ConfigError(f"uses more than {MAX_CONFIG_VALUES} aliases")
        self._depth += 1
        try:
            if self._depth > MAX_CONFIG_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"is nested more than {MAX_CONFIG_DEPTH} levels deep at line {mark.line + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(root: yaml.Node) -> int:
    """Number of values ``root`` holds once every alias is expanded (iterative, memoised)."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_stack: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        if id(node) in size:
            continue
        kids: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            kids = [x for kv in node.value for x in kv]
        if children_done:
            on_stack.discard(id(node))
            total = 1 + sum(size[id(k)] for k in kids)
            size[id(node)] = min(total, MAX_CONFIG_VALUES + 1)
            continue
        if id(node) in on_stack:
            raise ConfigError(f"refers to itself through an alias at line {node.start_mark.line + 1}")
        on_stack.add(id(node))
        stack.append((node, True))
        for k in kids:
            if id(k) not in size:
                if id(k) in on_stack:
                    raise ConfigError(f"refers to itself through an alias at line {k.start_mark.line + 1}")
                stack.append((k, False))
    return size[id(root)]


def _safe_load_bounded(text: str) -> Any:
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        n = _expanded_size(node)
        if n > MAX_CONFIG_VALUES:
            raise ConfigError(f"expands to more than {MAX_CONFIG_VALUES} values through its aliases (&anchor / "
                              "*alias)")
        return loader.construct_document(node)
    finally:
        loader.dispose()


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
        with open(p, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"Config file {str(p)!r} cannot be read ({exc.strerror or exc}).") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"Config file {str(p)!r} is larger than {MAX_CONFIG_BYTES} bytes; a configuration is a "
                          "short mapping of keys to values.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Config file {str(p)!r} is not UTF-8 text ({exc.reason}). Save it as UTF-8.") from None
    try:
        data = _safe_load_bounded(text)
    except ConfigError as exc:
        raise ConfigError(f"Config file {str(p)!r} {exc}; use a plain mapping of keys to values.") from None
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


def parse_yaml_value(text: str, where: str) -> Any:
    """One YAML value from a command-line string (``--set key=VALUE``), with the file's bounds.

    Raises
    ------
    ConfigError
        Naming ``where`` if the value is not valid YAML or exceeds the bounds.
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: the value is longer than {MAX_CONFIG_BYTES} characters.")
    try:
        return _safe_load_bounded(text)
    except ConfigError as exc:
        raise ConfigError(f"{where}: the value {exc}.") from None
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
        raise ConfigError(f"{where}: the value is not valid YAML ({str(exc).splitlines()[0] if str(exc) else exc}); "
                          "quote it or fix its syntax.") from None


# --------------------------------------------------------------------------- declared constraints


@dataclasses.dataclass(frozen=True)
class Interval:
    """A numeric range a parameter must lie in (finite; ``None`` = unbounded on that side).

    Parameters
    ----------
    kind : {"int", "real"}
        ``int`` also rejects non-integral numbers.
    low, high : float or None
        Bounds.
    closed : {"both", "left", "right", "neither"}
        Which bounds belong to the range.
    meaning : str
        What the parameter means, quoted in the error (``"a ridge penalty"``).

    Examples
    --------
    >>> Interval("real", 0, None, closed="left").holds(-1.0)
    False
    """

    kind: str
    low: float | None
    high: float | None
    closed: str = "both"
    meaning: str = ""

    def holds(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            return False
        if self.kind == "int" and not float(v).is_integer():
            return False
        if not math.isfinite(float(v)):
            return False
        x = cast(float, v)  # any finite numbers.Real compares with the float bounds
        lo_ok = self.low is None or (x >= self.low if self.closed in ("both", "left") else x > self.low)
        hi_ok = self.high is None or (x <= self.high if self.closed in ("both", "right") else x < self.high)
        return lo_ok and hi_ok

    def describe(self) -> str:
        num = "an integer" if self.kind == "int" else "a finite number"
        lo = "" if self.low is None else ("[" if self.closed in ("both", "left") else "(") + f"{self.low:g}"
        hi = "" if self.high is None else f"{self.high:g}" + ("]" if self.closed in ("both", "right") else ")")
        if lo and hi:
            rng = f" in {lo}, {hi}"
        elif lo:
            rng = f" {'>=' if lo[0] == '[' else '>'} {self.low:g}"
        elif hi:
            rng = f" {'<=' if hi[-1] == ']' else '<'} {self.high:g}"
        else:
            rng = ""
        return num + rng + (f" ({self.meaning})" if self.meaning else "")


@dataclasses.dataclass(frozen=True)
class Options:
    """A parameter must be one of ``values``."""

    values: tuple[Any, ...]

    def holds(self, v: Any) -> bool:
        return any(v == x and type(v) is type(x) for x in self.values)

    def describe(self) -> str:
        if len(self.values) == 2:
            return f"{self.values[0]!r} or {self.values[1]!r}"
        return "one of " + ", ".join(repr(x) for x in self.values)


def _holds(c: Any, v: Any) -> bool:
    if c is None:
        return v is None
    if isinstance(c, (Interval, Options)):
        return c.holds(v)
    if isinstance(c, type):
        return isinstance(v, c)
    if callable(c):
        return bool(c(v))
    raise TypeError(f"unknown constraint {c!r}")


def _describe(c: Any) -> str:
    if c is None:
        return "null"
    if isinstance(c, type):
        return f"a {c.__name__}"
    return c.describe() if hasattr(c, "describe") else getattr(c, "__doc__", None) or repr(c)


def check_params(params: Mapping[str, Any], constraints: Mapping[str, Sequence[Any]], *, where: str = "",
                 each: Sequence[str] = ()) -> None:
    """Check ``params`` against declared ``constraints`` (the one mechanism every config uses).

    Parameters
    ----------
    params : mapping
        Parameter name -> value.
    constraints : mapping
        Parameter name -> list of accepted forms: an :class:`Interval`, an
        :class:`Options`, a type, ``None`` (null allowed) or a predicate. A
        value must satisfy at least one. Like scikit-learn's
        ``_parameter_constraints``.
    where : str
        Prefix of the error (``"head 'ridge'"``).
    each : sequence of str
        Parameters that are lists: every element is checked.

    Raises
    ------
    ConfigError
        Naming the parameter, the bad value and what it must be.

    Examples
    --------
    >>> check_params({"alpha": 1.0}, {"alpha": [Interval("real", 0, None, closed="left")]})
    >>> check_params({"alpha": -1.0}, {"alpha": [Interval("real", 0, None, closed="left")]})
    Traceback (most recent call last):
    ...
    crossling.errors.ConfigError: The 'alpha' parameter must be a finite number >= 0, got -1.0.
    """
    for name, accepted in constraints.items():
        if name not in params:
            continue
        value = params[name]
        values = list(value) if name in each and isinstance(value, (list, tuple)) else [value]
        for v in values:
            if not any(_holds(c, v) for c in accepted):
                must = " or ".join(_describe(c) for c in accepted)
                what = f"An element of the {name!r} parameter" if name in each else f"The {name!r} parameter"
                raise ConfigError(f"{where + ': ' if where else ''}{what} must be {must}, got {short_repr(v)}.")


def validate_declared(cfg: Any) -> None:
    """Check a config object against its class's ``_parameter_constraints`` (if declared)."""
    constraints = getattr(type(cfg), "_parameter_constraints", None)
    if not constraints:
        return
    params = {k: getattr(cfg, k) for k in constraints if hasattr(cfg, k)}
    check_params(params, constraints, each=getattr(type(cfg), "_parameter_each", ()))


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
        raise ConfigError(errors[0] if errors else f"Bad value {short_repr(value)} for {name!r}.")
    if origin in (list, tuple):
        inner = args[0] if args else str
        items = split_list(value) if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            items = [items]
        return [_coerce(name, v, inner) for v in items]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"Config key {name!r} must be a mapping, got {short_repr(value)}.")
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
        raise ConfigError(f"Config key {name!r} must be true or false, got {short_repr(value)}.")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"Config key {name!r} must be an integer, got {short_repr(value)}.")
        try:
            return int(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"Config key {name!r} must be an integer, got {short_repr(value)}.") from None
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"Config key {name!r} must be a number, got {short_repr(value)}.") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"Config key {name!r} must be a string, got {short_repr(value)}.")
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
                    f"Unknown config key {short_repr(key)} in {where}.{suggest(k, fields)} "
                    f"Valid keys: {', '.join(sorted(fields))}."
                )
            merged[k] = _coerce(k, value, hints[k])
    cfg = cls(**merged)
    validate_declared(cfg)
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
    from crossling.io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=True, allow_unicode=True))


def dumps_config(cfg: Any) -> str:
    """The resolved config as canonical JSON (for hashing)."""
    return json.dumps(config_to_dict(cfg), sort_keys=True)
