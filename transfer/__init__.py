"""Cross-lingual transfer: train on one language, evaluate on every other (zero- and few-shot).

The command is ``python -m transfer.run`` (:mod:`transfer.run`); attribution is
``python -m transfer.attribute`` (:mod:`transfer.attribute`, library in
:mod:`transfer.attribution`). The parts, in the order data flows through them:

=============================  ==================================================================
module / package               what it is
=============================  ==================================================================
:mod:`transfer.tasks`          downstream tasks (``pos``, ``ner``, ``nli``, ``paws``), their pools
                               and declared capabilities; add a task here (or ``module:Class``)
:mod:`transfer.metrics`        accuracy, entity F1; add a metric here (or ``module:name``)
:mod:`transfer.splits`         index splits, caps and few-shot draws (deterministic)
:mod:`transfer.features`       feature sources of the head regime (stores, synthetic) and
                               :mod:`~transfer.features.extraction` of the stores
:mod:`transfer.heads`          classifier heads (ridge, softmax, mlp)
:mod:`transfer.regimes`        how a batch of cells is computed: ``head``, ``finetune``
:mod:`transfer.execution`      cells, hashes and the resumable cell store (``jobs``); where
                               batches run (``backends``: serial, process, ray)
:mod:`transfer.run`            the grid driver and its command line
:mod:`transfer.figures`        transfer matrices and few-shot curves from the tidy table
:mod:`transfer.attribution`    captum attribution of probes (units) and transfer models (tokens)
=============================  ==================================================================

The names below are importable from ``transfer`` directly; they are loaded on
first use, so ``import transfer`` stays light (no torch, no pandas). (The grid
driver is ``transfer.run.run``: ``transfer.run`` is its module.)
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> module that defines it (loaded lazily by :func:`__getattr__`).
_EXPORTS: dict[str, str] = {
    "TransferConfig": "transfer.run",
    "TASKS": "transfer.tasks",
    "DownstreamTask": "transfer.tasks",
    "get_task": "transfer.tasks",
    "task_capabilities": "transfer.tasks",
    "METRICS": "transfer.metrics",
    "Metric": "transfer.metrics",
    "get_metric": "transfer.metrics",
    "HEADS": "transfer.heads",
    "REGIMES": "transfer.regimes",
    "BACKENDS": "transfer.execution",
    "FeatureSource": "transfer.features",
    "SyntheticFeatures": "transfer.features",
    "parse_layer": "transfer.features",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'transfer' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
