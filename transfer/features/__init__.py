"""Where the head regime gets its features: activation stores (extracted once) or synthetic data.

A :class:`FeatureSource` answers ``units(task, lang, pool, layer)`` with the
classification units of one pool as a :class:`Units` record.
:class:`StoreFeatures` reads one activation store per (task, language);
:class:`SyntheticFeatures` draws features with a known class signal (tests,
benchmarks). :func:`parse_layer` resolves the run's layer spec (the suite's
one grammar, :mod:`crossling.layers`, plus ``mix``).

:mod:`transfer.features.extraction` extracts the stores (once per
configuration) with :func:`probes.extract.extract_sentences`; it is imported
on its own (it loads models), not re-exported here.
"""

from transfer.features._sources import FeatureSource, StoreFeatures, SyntheticFeatures, Units, parse_layer

__all__ = ["Units", "FeatureSource", "StoreFeatures", "SyntheticFeatures", "parse_layer"]
