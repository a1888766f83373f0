"""Turning sentences into per-layer word and sentence vectors (no disk I/O).

:func:`tokenize_sentences` maps every word to its subword tokens with the
fast tokenizer's character offsets (correct for words split into many pieces,
for scripts without spaces, and for multiword tokens whose syntactic words
share a surface span). :class:`Encoder` runs length-sorted batches under a
token budget in ``torch.inference_mode()`` (optionally bf16 autocast) and
pools subwords into words (first / mean / last) for the requested layers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from crossling.errors import ConfigError, ModelError
from crossling.layers import LayerCapture
from crossling.types import Sentence

__all__ = ["TokenizedSentence", "tokenize_sentences", "Encoder", "POOLING_CHOICES", "DTYPE_CHOICES"]

#: How a word's subword vectors become one vector.
POOLING_CHOICES = ("mean", "first", "last")
#: Compute precision of the model during extraction.
DTYPE_CHOICES = ("float32", "bfloat16")


@dataclass
class TokenizedSentence:
    """Model input of one sentence and its word-to-token map.

    Attributes
    ----------
    ids : ndarray of int64, shape (n_tokens,)
        Token ids including special tokens, after truncation.
    word_tokens : list of ndarray of int
        For each word, the positions (into ``ids``) of its subword tokens;
        empty if the word was cut by truncation.
    content : ndarray of int
        Positions of non-special tokens (for sentence vectors without words).
    n_tokens_full : int
        Length before truncation.
    truncated : bool
    unmatched : int
        Words whose span covered no token (given the nearest token instead).
    """

    ids: np.ndarray
    word_tokens: list[np.ndarray]
    content: np.ndarray
    n_tokens_full: int
    truncated: bool
    unmatched: int


def _marker_ids(tokenizer: object) -> set[int]:
    """Ids of pieces that are only a word-boundary marker (SentencePiece '▁')."""
    out: set[int] = set()
    for piece in ("\u2581", "\u0120", "\u010a"):
        tid = tokenizer.convert_tokens_to_ids(piece)  # type: ignore[attr-defined]
        unk = getattr(tokenizer, "unk_token_id", None)
        if isinstance(tid, int) and tid >= 0 and tid != unk:
            out.add(tid)
    return out


def tokenize_sentences(
    tokenizer: object, sentences: Sequence[Sentence], *, prefix: str = "", max_length: int = 512
) -> list[TokenizedSentence]:
    """Tokenise sentences (or pairs) and map words to tokens.

    Parameters
    ----------
    tokenizer : transformers fast tokenizer
    sentences : sequence of Sentence
        ``Sentence.text_b`` set on all of them encodes pairs with the
        tokenizer's pair template.
    prefix : str
        Prepended to ``text`` (e.g. e5's ``"query: "``); word spans shift.
    max_length : int
        Inputs longer than this are truncated (keeping the final special
        token) and flagged.

    Returns
    -------
    list of TokenizedSentence
    """
    if not sentences:
        return []
    pairs = [s.text_b is not None for s in sentences]
    if any(pairs) and not all(pairs):
        raise ConfigError("A batch mixes single sentences and sentence pairs; encode them separately.")
    texts = [prefix + s.text for s in sentences]
    kw = dict(add_special_tokens=True, return_offsets_mapping=True, return_special_tokens_mask=True,
              truncation=False, verbose=False)
    if pairs[0]:
        enc = tokenizer([t for t in texts], [s.text_b for s in sentences], **kw)  # type: ignore[operator]
    else:
        enc = tokenizer(texts, **kw)  # type: ignore[operator]
    markers = _marker_ids(tokenizer)
    shift = len(prefix)
    out: list[TokenizedSentence] = []
    for i, s in enumerate(sentences):
        ids = np.asarray(enc["input_ids"][i], dtype=np.int64)
        offs = np.asarray(enc["offset_mapping"][i], dtype=np.int64).reshape(-1, 2)
        special = np.asarray(enc["special_tokens_mask"][i], dtype=bool)
        seq_ids = enc.sequence_ids(i) if hasattr(enc, "sequence_ids") else [0] * len(ids)
        seq0 = np.array([sid == 0 for sid in seq_ids], dtype=bool)
        n_full = len(ids)
        truncated = n_full > max_length
        if truncated:
            keep = np.r_[np.arange(max_length - 1), n_full - 1]
            ids, offs, special, seq0 = ids[keep], offs[keep], special[keep], seq0[keep]
        content = np.flatnonzero(~special)
        cand = (~special) & seq0
        is_marker = np.isin(ids, list(markers)) if markers else np.zeros(len(ids), bool)
        starts, ends = offs[:, 0], offs[:, 1]
        word_tokens: list[np.ndarray] = []
        unmatched = 0
        for w in s.words:
            ws, we = w.span[0] + shift, w.span[1] + shift
            hit = cand & (ends > ws) & (starts < we) & (ends > starts)
            idx = np.flatnonzero(hit & ~is_marker)
            if idx.size == 0:
                idx = np.flatnonzero(hit)
            if idx.size == 0:
                if truncated and ws >= (starts[cand].max() if cand.any() else 0):
                    word_tokens.append(np.zeros(0, dtype=np.int64))
                    continue
                # zero-width or normalised-away word: nearest content token at or before it
                before = np.flatnonzero(cand & (starts <= ws))
                after = np.flatnonzero(cand)
                idx = before[-1:] if before.size else after[:1]
                unmatched += 1
            word_tokens.append(idx.astype(np.int64))
        out.append(TokenizedSentence(ids, word_tokens, content.astype(np.int64), n_full, truncated, unmatched))
    return out


def _batches(lengths: np.ndarray, max_tokens: int, max_batch: int = 256) -> list[np.ndarray]:
    """Length-sorted batches whose padded size stays under ``max_tokens``."""
    order = np.argsort(-lengths, kind="stable")
    out: list[np.ndarray] = []
    cur: list[int] = []
    cur_max = 0
    for j in order:
        L = int(lengths[j])
        new_max = max(cur_max, L)
        if cur and (new_max * (len(cur) + 1) > max_tokens or len(cur) >= max_batch):
            out.append(np.array(cur))
            cur, cur_max = [], 0
            new_max = L
        cur.append(int(j))
        cur_max = new_max
    if cur:
        out.append(np.array(cur))
    return out


@dataclass
class EncodedBatch:
    """Pooled vectors for a group of sentences (float32, CPU numpy)."""

    index: np.ndarray  # positions of the sentences in the encoded list
    words: dict[int, list[np.ndarray]]  # layer -> per-sentence (n_words, dim)
    sentences: dict[int, np.ndarray]  # layer -> (n, dim)
    n_tokens: int


class Encoder:
    """Batched, pooled, multi-layer encoding with a loaded model.

    Parameters
    ----------
    loaded : probes.models.LoadedModel
    layers : sequence of int
        Layers to return (0 = embeddings, i = block i).
    pool : {"mean", "first", "last"}
        Subword-to-word pooling.
    dtype : {"float32", "bfloat16"}
        Compute dtype (bf16 via CPU/GPU autocast); outputs are float32.
    final_norm : {"hf", "all", "none"}
        T5 final layer norm policy (see :mod:`crossling.layers`).
    max_tokens : int
        Token budget of a padded batch.
    device : str
        ``"cpu"`` or ``"cuda"``.
    """

    def __init__(self, loaded: object, layers: Sequence[int], *, pool: str = "mean", dtype: str = "float32",
                 final_norm: str = "hf", max_tokens: int = 8192, device: str = "cpu"):
        if pool not in POOLING_CHOICES:
            raise ConfigError(f"pool must be one of {POOLING_CHOICES}, got {pool!r}.")
        if dtype not in DTYPE_CHOICES:
            raise ConfigError(f"dtype must be one of {DTYPE_CHOICES}, got {dtype!r}.")
        if max_tokens < 16:
            raise ConfigError(f"max_tokens must be at least 16, got {max_tokens}.")
        self.loaded = loaded
        self.capture = LayerCapture(loaded, layers, final_norm=final_norm)
        self.layers = self.capture.layers
        self.pool = pool
        self.dtype = dtype
        self.max_tokens = max_tokens
        self.device = device
        pad = getattr(loaded.tokenizer, "pad_token_id", None)  # type: ignore[attr-defined]
        self.pad_id = int(pad) if pad is not None else 0

    def encode(self, toks: Sequence[TokenizedSentence], sent_ids: Sequence[str]) -> Iterator[EncodedBatch]:
        """Yield pooled vectors batch by batch (length-sorted order)."""
        import torch

        lengths = np.array([len(t.ids) for t in toks])
        for b in _batches(lengths, self.max_tokens):
            T = int(lengths[b].max())
            B = len(b)
            ids = np.full((B, T), self.pad_id, dtype=np.int64)
            mask = np.zeros((B, T), dtype=np.int64)
            for r, j in enumerate(b):
                n = len(toks[j].ids)
                ids[r, :n] = toks[j].ids
                mask[r, :n] = 1
            inputs = {"input_ids": torch.from_numpy(ids).to(self.device),
                      "attention_mask": torch.from_numpy(mask).to(self.device)}
            with torch.inference_mode():
                if self.dtype == "bfloat16":
                    dev = "cuda" if str(self.device).startswith("cuda") else "cpu"
                    with torch.autocast(dev, dtype=torch.bfloat16):
                        hs = self.capture.run(**inputs)
                else:
                    hs = self.capture.run(**inputs)
                words, sents = self._pool(hs, [toks[j] for j in b], mask, [sent_ids[j] for j in b])
            yield EncodedBatch(index=b, words=words, sentences=sents, n_tokens=int(mask.sum()))

    def _pool(self, hs: dict, toks: list[TokenizedSentence], mask: np.ndarray, ids: list[str]):
        import torch

        B, T = mask.shape
        W = max((len(t.word_tokens) for t in toks), default=0)
        # pooling matrix (B, W, T): row w averages / picks the tokens of word w
        P = np.zeros((B, max(W, 1), T), dtype=np.float32)
        has_words = np.zeros(B, dtype=bool)
        in_win = []
        for r, t in enumerate(toks):
            iw = np.zeros(len(t.word_tokens), dtype=bool)
            for w, tk in enumerate(t.word_tokens):
                if tk.size == 0:
                    continue
                iw[w] = True
                if self.pool == "mean":
                    P[r, w, tk] = 1.0 / tk.size
                elif self.pool == "first":
                    P[r, w, tk.min()] = 1.0
                else:
                    P[r, w, tk.max()] = 1.0
            in_win.append(iw)
            has_words[r] = iw.any()
        # sentence weights over tokens when there are no words
        S = np.zeros((B, T), dtype=np.float32)
        for r, t in enumerate(toks):
            if not has_words[r] and t.content.size:
                S[r, t.content] = 1.0 / t.content.size
        Pt = torch.from_numpy(P)
        St = torch.from_numpy(S)
        words: dict[int, list[np.ndarray]] = {}
        sents: dict[int, np.ndarray] = {}
        for layer, h in hs.items():
            h = h.float().cpu()
            # one reduction first; the per-position check only when it is not finite
            if not bool(torch.isfinite(h.sum())) and bool(
                    (bad := ~torch.isfinite(h).all(dim=2) & torch.from_numpy(mask.astype(bool))).any()):
                rows = sorted(set(int(r) for r in torch.nonzero(bad)[:, 0]))
                raise ModelError(
                    f"NaN or Inf in layer {layer} hidden states for sentence(s) {[ids[r] for r in rows]} "
                    f"(model {getattr(self.loaded, 'name', '?')}, dtype {self.dtype}). Try --dtype float32 "
                    "or --final-norm all; check the model weights."
                )
            wv = torch.bmm(Pt, h).numpy()  # (B, W, D)
            per = []
            sv = torch.bmm(St.unsqueeze(1), h).squeeze(1).numpy()  # (B, D)
            for r, t in enumerate(toks):
                x = wv[r, : len(t.word_tokens)].copy()
                per.append(x)
                if has_words[r]:
                    sv[r] = x[in_win[r]].mean(axis=0)
            words[layer] = per
            sents[layer] = sv
        return words, sents
