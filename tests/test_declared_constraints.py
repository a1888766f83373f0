"""Every command's config declares the range of every numeric parameter (#17, cause 6: one mechanism)."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from crossling.config import validate_declared
from crossling.errors import ConfigError

CONFIGS = [
    ("probes.extract", "ExtractConfig"), ("probes.train", "TrainConfig"), ("representations.align", "AlignConfig"),
    ("transfer.run", "TransferConfig"), ("analysis.report", "ReportConfig"), ("analysis.study", "StudyConfig"),
    ("analysis.recommend", "RecommendConfig"), ("transfer.attribute", "UnitAttributionConfig"),
    ("transfer.attribute", "TokenAttributionConfig"), ("probes.datasets", "DownloadConfig"),
]


def _defaults(cls: type) -> object:
    obj = cls.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            setattr(obj, f.name, f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            setattr(obj, f.name, f.default_factory())  # type: ignore[misc]
    return obj


def _numeric_fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)
            if any(t in str(f.type) for t in ("int", "float")) and "bool" not in str(f.type)]


@pytest.mark.parametrize("mod,name", CONFIGS)
def test_every_numeric_parameter_is_declared_and_defaults_hold(mod: str, name: str) -> None:
    cls = getattr(importlib.import_module(mod), name)
    declared = getattr(cls, "_parameter_constraints", {})
    missing = [f for f in _numeric_fields(cls) if f not in declared]
    assert not missing, f"{name} declares no range for {missing}"
    validate_declared(_defaults(cls))


@pytest.mark.parametrize("mod,name", CONFIGS)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -(10**12), "x"])
def test_out_of_range_values_are_refused_naming_the_parameter(mod: str, name: str, bad: object) -> None:
    cls = getattr(importlib.import_module(mod), name)
    each = getattr(cls, "_parameter_each", ())
    for param, accepted in cls._parameter_constraints.items():
        if any(getattr(c, "low", 0) is None and getattr(c, "high", 0) is None for c in accepted) and bad == -(10**12):
            continue  # an unbounded finite number (e.g. a reference score) accepts any finite value
        obj = _defaults(cls)
        setattr(obj, param, [bad] if param in each else bad)
        with pytest.raises(ConfigError, match=repr(param)):
            validate_declared(obj)
