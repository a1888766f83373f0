"""The ``hf`` source: a Hugging Face hub id or a local checkpoint directory (``trust_remote_code`` never)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

from crossling.errors import ModelError
from probes.models._base import (
    DEFAULT_MODEL,
    MODEL_SOURCES,
    T5_TYPES,
    LoadedModel,
    ModelSource,
)

__all__ = ["HFSource", "hub_reachable"]


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
