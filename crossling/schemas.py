"""Column schemas of the tidy tables that flow between the suite's stages.

One module owns every table contract: the producer writes these columns in
this order and the consumer requires them (:func:`crossling.tables.require_columns`).
Change a schema here, with docs/design.md, never in a producer or consumer.

==================  =======================================  ==========================
table               written by                               read by
==================  =======================================  ==========================
transfer            ``transfer.run`` (``transfer.parquet``)  ``analysis.*``
alignment           ``representations.align``                ``analysis.*``
alignment layers    ``representations.align``                ``analysis.report``
probes              ``probes.train`` (``probes.parquet``)    ``analysis.*``, ``transfer.attribute``
pair features       ``analysis.typology``                    ``analysis.stats`` / ``recommend``
attribution units   ``transfer.attribute``                   ``analysis.report``
attribution probes  ``transfer.attribute``                   ``analysis.report``
==================  =======================================  ==========================

Examples
--------
>>> from crossling.schemas import TRANSFER_COLUMNS
>>> TRANSFER_COLUMNS[:6]
('model', 'regime', 'layer', 'task', 'src', 'tgt')
"""

from __future__ import annotations

__all__ = [
    "TRANSFER_COLUMNS",
    "TRANSFER_EXTRA_COLUMNS",
    "ALIGNMENT_MAP_COLUMNS",
    "ALIGNMENT_COLUMNS",
    "ALIGNMENT_LAYER_MAP_COLUMNS",
    "ALIGNMENT_LAYER_COLUMNS",
    "PROBE_COLUMNS",
    "FEATURE_COLUMNS",
    "ATTRIBUTION_UNIT_COLUMNS",
    "ATTRIBUTION_PROBE_COLUMNS",
]

#: Transfer results: one row per (model, regime, layer, task, src, tgt, k, seed, metric).
TRANSFER_COLUMNS: tuple[str, ...] = (
    "model", "regime", "layer", "task", "src", "tgt", "k", "seed", "metric", "value", "n_train", "n_test",
)
#: Bookkeeping columns ``transfer.run`` writes after :data:`TRANSFER_COLUMNS`.
TRANSFER_EXTRA_COLUMNS: tuple[str, ...] = ("n_shots", "src_pool", "tgt_pool", "cell")

#: Alignment rows as :func:`representations.alignment_maps` returns them (no model column).
ALIGNMENT_MAP_COLUMNS: tuple[str, ...] = (
    "layer", "lang_a", "lang_b", "metric", "value", "ci_low", "ci_high", "p_value", "n",
    "null_level", "null_draws", "dims_a", "dims_b", "dims_rule", "length_control",
)
#: Alignment table on disk: the model, then :data:`ALIGNMENT_MAP_COLUMNS`.
ALIGNMENT_COLUMNS: tuple[str, ...] = ("model", *ALIGNMENT_MAP_COLUMNS)
#: Layer-by-layer similarity within one language, as returned by the map.
ALIGNMENT_LAYER_MAP_COLUMNS: tuple[str, ...] = ("lang", "layer_a", "layer_b", "metric", "value", "n")
#: Layer-by-layer table on disk.
ALIGNMENT_LAYER_COLUMNS: tuple[str, ...] = ("model", *ALIGNMENT_LAYER_MAP_COLUMNS)

#: Probe results: one row per (model, layer, lang, task, probe, metric).
PROBE_COLUMNS: tuple[str, ...] = (
    "model", "layer", "lang", "task", "probe", "metric", "value", "n_train", "n_test", "train_lang", "test_lang",
)

#: Pair features (typology, lexical, data size): one row per (lang_a, lang_b, feature).
FEATURE_COLUMNS: tuple[str, ...] = ("lang_a", "lang_b", "feature", "value", "source")

#: Attribution unit importances: one row per (model, layer, task, lang, probe, method, target, unit).
ATTRIBUTION_UNIT_COLUMNS: tuple[str, ...] = (
    "model", "layer", "task", "lang", "probe", "method", "target", "unit", "importance", "rank",
)
#: Accuracy of the probes ``transfer.attribute`` trains before attributing (``probes.parquet`` of an attribution run).
ATTRIBUTION_PROBE_COLUMNS: tuple[str, ...] = (
    "model", "layer", "task", "lang", "probe", "metric", "value", "n_train", "n_test",
)
