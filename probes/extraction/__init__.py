"""Model loading and extraction: hidden states of every layer into an activation store.

* :class:`ExtractConfig` and :func:`extract` run one extraction of a corpus
  (what ``python -m probes.extract`` does); :func:`extract_sentences` is the
  Python API for your own sentences (:mod:`probes.extraction._engine`: shards,
  resumption, the manifest).
* :mod:`probes.extraction.encode` tokenises sentences with word spans and
  pools subword states into word and sentence vectors (:class:`Encoder`).
* :mod:`probes.extraction.store` reads a finished store (:class:`ActivationStore`).
* The ``ray`` backend encodes the shards on Ray workers (:mod:`probes.extraction._ray`).

Models come from :mod:`probes.models` (``load_model``, the model-source registry).
"""

from probes.extraction._config import (
    ExtractConfig,
    extract,
    extraction_plan,
    print_summary,
)
from probes.extraction._engine import extract_sentences
from probes.extraction.encode import (
    DTYPE_CHOICES,
    POOLING_CHOICES,
    Encoder,
    TokenizedSentence,
    tokenize_sentences,
)
from probes.extraction.store import (
    MANIFEST,
    STORE_FORMAT,
    ActivationStore,
    check_manifest,
)

__all__ = [
    "ActivationStore",
    "DTYPE_CHOICES",
    "Encoder",
    "ExtractConfig",
    "MANIFEST",
    "POOLING_CHOICES",
    "STORE_FORMAT",
    "TokenizedSentence",
    "check_manifest",
    "extract",
    "extract_sentences",
    "extraction_plan",
    "print_summary",
    "tokenize_sentences",
]
