"""mT5 checkpoints in the Hugging Face hub's own file layout, built offline.

The hub's ``google/mt5-small`` / ``google/mt5-base`` repositories hold
``config.json``, ``pytorch_model.bin`` (the full encoder-decoder state dict),
``spiece.model`` (a SentencePiece unigram model), ``special_tokens_map.json``
and ``tokenizer_config.json``, and **no** ``tokenizer.json``: transformers
builds the fast tokenizer from ``spiece.model``, which needs the
``sentencepiece`` and ``protobuf`` packages (dependencies of this suite).

:func:`train_sentencepiece` trains a small SentencePiece unigram model with
mT5's special-token layout (``<pad>`` = 0, ``</s>`` = 1, ``<unk>`` = 2) on
texts, by default on the demo sample bundled with the suite.
:func:`write_mt5_hub_layout` writes a random-initialised mT5 of any shape
with that vocabulary in the hub layout (``pytorch_model.bin``, a
``safetensors`` variant, or an encoder-only directory as
``MT5EncoderModel.save_pretrained`` writes it). The tests use it to load and
extract a real hub-layout checkpoint without the network, and
``random:mt5-small-spm`` / ``random:mt5-base-spm`` use it to offer
random-initialised mT5 shapes with a genuine T5 (SentencePiece) tokenizer.

Examples
--------
>>> from probes.models import write_mt5_hub_layout
>>> import tempfile, os
>>> d = write_mt5_hub_layout(tempfile.mkdtemp(), shape="tiny", vocab_size=300)   # doctest: +SKIP
>>> sorted(os.listdir(d))                                                         # doctest: +SKIP
['config.json', 'pytorch_model.bin', 'special_tokens_map.json', 'spiece.model', 'tokenizer_config.json']
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crossling.errors import ConfigError, ModelError

__all__ = ["train_sentencepiece", "write_mt5_hub_layout", "sample_texts", "build_random_spm_checkpoint",
           "MT5_SHAPES", "WEIGHT_LAYOUTS"]

#: Encoder-decoder shapes :func:`write_mt5_hub_layout` knows (``tiny`` is for tests).
MT5_SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4,
             "relative_attention_num_buckets": 8},
    "mt5-small": {"d_model": 512, "d_kv": 64, "d_ff": 1024, "num_layers": 8, "num_heads": 6},
    "mt5-base": {"d_model": 768, "d_kv": 64, "d_ff": 2048, "num_layers": 12, "num_heads": 12},
}

#: ``weights`` choices: the hub's pickle, its safetensors twin, or the encoder alone.
WEIGHT_LAYOUTS = ("bin", "safetensors", "encoder")

_SPECIAL = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}


def _require_sentencepiece() -> Any:
    try:
        import sentencepiece as spm
    except ImportError:  # pragma: no cover - a dependency of the suite
        raise ModelError(
            "The 'sentencepiece' package is needed to read or train SentencePiece models (spiece.model, "
            "sentencepiece.bpe.model). Install it with: pip install sentencepiece protobuf"
        ) from None
    return spm


def sample_texts() -> list[str]:
    """The sentences of the demo sample bundled with the suite (9 languages, 360 sentences).

    Returns
    -------
    list of str
    """
    from probes.readers.corpora import load_corpus

    corpus = load_corpus("sample")
    return [s.text for sents in corpus.sentences.values() for s in sents]


def train_sentencepiece(texts: Iterable[str] | None = None, *, vocab_size: int = 1000,
                        model_type: str = "unigram", seed: int = 0, t5_ids: bool = True) -> bytes:
    """Train a SentencePiece model with mT5's special-token ids.

    Parameters
    ----------
    texts : iterable of str, optional
        Training sentences; default :func:`sample_texts`.
    vocab_size : int, default=1000
        Upper bound on the vocabulary (``hard_vocab_limit`` is off, so a
        small corpus gives a smaller vocabulary instead of an error).
    model_type : {"unigram", "bpe"}, default="unigram"
        mT5 uses unigram; XLM-R's ``sentencepiece.bpe.model`` is BPE.
    seed : int, default=0
        Unused by SentencePiece's deterministic trainer; kept for the cache key.
    t5_ids : bool, default=True
        T5's special ids (``<pad>`` = 0, ``</s>`` = 1, ``<unk>`` = 2, no
        ``<s>``); ``False`` keeps SentencePiece's defaults (``<unk>`` = 0,
        ``<s>`` = 1, ``</s>`` = 2), the layout of XLM-R's
        ``sentencepiece.bpe.model``.

    Returns
    -------
    bytes
        The serialised model (the content of ``spiece.model``).
    """
    spm = _require_sentencepiece()
    if model_type not in ("unigram", "bpe"):
        raise ConfigError(f"The 'model_type' parameter must be 'unigram' or 'bpe', got {model_type!r}.")
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 16:
        raise ConfigError(f"The 'vocab_size' parameter must be an integer >= 16, got {vocab_size!r}.")
    data = [t for t in (sample_texts() if texts is None else texts) if t and t.strip()]
    if not data:
        raise ConfigError("The 'texts' parameter holds no non-empty sentence to train a SentencePiece model on.")
    buf = io.BytesIO()
    ids: dict[str, Any] = (dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>") if t5_ids
                           else dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1))
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(data), model_writer=buf, vocab_size=vocab_size, model_type=model_type,
        character_coverage=1.0, hard_vocab_limit=False, eos_piece="</s>", unk_piece="<unk>", minloglevel=2,
        num_threads=1, **ids,
    )
    return buf.getvalue()


def write_mt5_hub_layout(out: str | Path, *, shape: str | dict[str, Any] = "tiny", weights: str = "bin",
                         vocab_size: int = 1000, texts: Iterable[str] | None = None, seed: int = 0,
                         spiece: bytes | None = None) -> Path:
    """Write a random-initialised mT5 checkpoint directory in the hub's file layout.

    Parameters
    ----------
    out : path
        Directory to create (may exist and be empty).
    shape : str or dict, default="tiny"
        A key of :data:`MT5_SHAPES` or a dict of ``MT5Config`` fields.
    weights : {"bin", "safetensors", "encoder"}, default="bin"
        ``bin``: ``pytorch_model.bin`` with the full encoder-decoder state
        dict, as on the hub; ``safetensors``: the same as
        ``model.safetensors``; ``encoder``: ``MT5EncoderModel.save_pretrained``
        (encoder weights only, safetensors).
    vocab_size : int, default=1000
        Upper bound of the SentencePiece vocabulary trained on ``texts``.
    texts : iterable of str, optional
        Tokenizer training text; default the bundled demo sample.
    seed : int, default=0
        Seed of the random weights.
    spiece : bytes, optional
        A ready SentencePiece model to use instead of training one.

    Returns
    -------
    Path
        ``out``, holding ``config.json``, the weights, ``spiece.model``,
        ``special_tokens_map.json`` and ``tokenizer_config.json`` (no
        ``tokenizer.json``).
    """
    import torch
    from transformers import MT5Config, MT5EncoderModel, MT5ForConditionalGeneration

    if weights not in WEIGHT_LAYOUTS:
        raise ConfigError(f"The 'weights' parameter must be one of {', '.join(WEIGHT_LAYOUTS)}, got {weights!r}.")
    if isinstance(shape, str):
        if shape not in MT5_SHAPES:
            raise ConfigError(f"Unknown mT5 shape {shape!r}. Available: {', '.join(MT5_SHAPES)} (or a dict).")
        fields = dict(MT5_SHAPES[shape])
    else:
        fields = dict(shape)
    spm = _require_sentencepiece()
    model_bytes = spiece if spiece is not None else train_sentencepiece(texts, vocab_size=vocab_size)
    n_vocab = spm.SentencePieceProcessor(model_proto=model_bytes).get_piece_size()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    cfg = MT5Config(vocab_size=n_vocab, num_decoder_layers=fields["num_layers"], feed_forward_proj="gated-gelu",
                    tie_word_embeddings=False, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
                    **fields)
    if weights == "encoder":
        MT5EncoderModel(cfg).save_pretrained(out)
    else:
        model = MT5ForConditionalGeneration(cfg)
        cfg.architectures = ["MT5ForConditionalGeneration"]
        cfg.save_pretrained(out)
        sd = {k: v.contiguous() for k, v in model.state_dict().items()}
        if weights == "bin":
            torch.save(sd, out / "pytorch_model.bin")
        else:
            from safetensors.torch import save_file

            # shared / encoder / decoder embeddings are one tensor in memory: store copies
            save_file({k: v.clone() for k, v in sd.items()}, str(out / "model.safetensors"),
                      metadata={"format": "pt"})
    for extra in ("generation_config.json",):
        (out / extra).unlink(missing_ok=True)
    (out / "spiece.model").write_bytes(model_bytes)
    (out / "special_tokens_map.json").write_text(json.dumps(_SPECIAL, indent=2), encoding="utf-8")
    (out / "tokenizer_config.json").write_text(json.dumps(
        {**_SPECIAL, "extra_ids": 0, "additional_special_tokens": None, "tokenizer_class": "T5Tokenizer",
         "model_max_length": 1024}, indent=2), encoding="utf-8")
    return out


def _dir_digest(d: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(d.iterdir())
            if f.is_file() and f.name != "build.json"}


def build_random_spm_checkpoint(shape: str, *, seed: int = 0, cache_dir: str | Path | None = None,
                                vocab_size: int = 8000) -> Path:
    """A cached encoder-only random mT5 of a published shape with a SentencePiece vocabulary of its own.

    The vocabulary is trained on the bundled demo sample (so it covers the
    sample's 9 languages and scripts; words of other languages fall apart
    into characters or ``<unk>``). Built once into
    ``<cache>/random-<shape>-spm-<key>/`` with a ``build.json`` holding the
    SHA-256 of every file; a directory whose files no longer match is
    rebuilt.

    Parameters
    ----------
    shape : {"mt5-small", "mt5-base"}
    seed : int, default=0
    cache_dir : path, optional
        Default :func:`crossling.paths.default_cache_dir`.
    vocab_size : int, default=8000
        Upper bound of the trained vocabulary.

    Returns
    -------
    Path
    """
    from crossling.paths import default_cache_dir

    if shape not in MT5_SHAPES or shape == "tiny":
        raise ConfigError(f"Unknown mT5 shape {shape!r} for a SentencePiece random model. "
                          f"Available: {', '.join(s for s in MT5_SHAPES if s != 'tiny')}.")
    key = hashlib.sha256(json.dumps([shape, seed, vocab_size, MT5_SHAPES[shape], 1]).encode()).hexdigest()[:12]
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    out = root / f"random-{shape}-spm-{key}"
    meta = out / "build.json"
    if meta.is_file():
        try:
            if json.loads(meta.read_text(encoding="utf-8")).get("sha256") == _dir_digest(out):
                return out
        except (OSError, ValueError):
            pass
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write_mt5_hub_layout(tmp, shape=shape, weights="encoder", vocab_size=vocab_size, seed=seed)
        (tmp / "build.json").write_text(json.dumps(
            {"shape": shape, "seed": seed, "vocab_size_bound": vocab_size,
             "tokenizer": "SentencePiece unigram trained on the suite's bundled demo sample",
             "sha256": _dir_digest(tmp)}, indent=2), encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
