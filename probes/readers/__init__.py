"""Data readers: CoNLL-U treebanks, the XTREME benchmark layout, and named corpora.

* :mod:`probes.readers.conllu` reads, validates and writes CoNLL-U files
  (:func:`read_conllu`, :func:`write_conllu`).
* :mod:`probes.readers.xtreme` reads the XTREME tasks (UD-POS, PAN-X, XNLI,
  PAWS-X, Tatoeba) from the layout the downloader writes (:func:`read_xtreme`).
* :mod:`probes.readers.corpora` turns files into per-language, sentence-aligned
  corpora for extraction (:data:`CORPORA`, :func:`load_corpus`); add a corpus
  by registering a :class:`Corpus` subclass or naming it as ``module:Class``.

The downloader that fetches these files is :mod:`probes.datasets`
(``python -m probes.data``).
"""

from probes.readers.conllu import (
    ReadReport,
    TextRebuiltWarning,
    conllu_language,
    format_conllu,
    lang_from_filename,
    parse_conllu,
    read_conllu,
    validate_conllu,
    write_conllu,
)
from probes.readers.corpora import (
    CORPORA,
    SAMPLE_DIR,
    Corpus,
    CorpusWarning,
    ParallelCorpus,
    align_by_sent_id,
    discover_ud,
    load_corpus,
)
from probes.readers.xtreme import (
    TASKS as XTREME_TASKS,
)
from probes.readers.xtreme import (
    available,
    read_pair_file,
    read_tatoeba,
    read_token_file,
    read_xtreme,
    xtreme_path,
)

__all__ = [
    "CORPORA",
    "Corpus",
    "CorpusWarning",
    "ParallelCorpus",
    "ReadReport",
    "SAMPLE_DIR",
    "TextRebuiltWarning",
    "XTREME_TASKS",
    "align_by_sent_id",
    "available",
    "conllu_language",
    "discover_ud",
    "format_conllu",
    "lang_from_filename",
    "load_corpus",
    "parse_conllu",
    "read_conllu",
    "read_pair_file",
    "read_tatoeba",
    "read_token_file",
    "read_xtreme",
    "validate_conllu",
    "write_conllu",
    "xtreme_path",
]
