"""Token attributions as highlighted HTML (no torch, no model: safe to import from a report).

Private module of :mod:`transfer.attribute`. :func:`render_token_html` takes
either :class:`TokenAttribution` records or the tidy token table that
``python -m transfer.attribute tokens`` writes (``token_attributions.parquet``)
and returns one self-contained HTML fragment (inline styles, no script):
parallel examples side by side, one column per language, every word (or
subword token) shaded by its attribution (red: supports the explained class,
blue: speaks against it; opacity = |score| / max |score| of that example).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossling.errors import ConfigError, DataError

__all__ = ["TokenAttribution", "TOKEN_COLUMNS", "token_table", "render_token_html"]

#: Columns of the tidy token-attribution table (one row per subword token).
TOKEN_COLUMNS: tuple[str, ...] = (
    "model", "regime", "layer", "task", "lang", "example_id", "group", "unit", "position", "token", "word_index",
    "word", "score", "target", "predicted", "target_prob", "output", "baseline_output", "delta", "method",
)


@dataclass
class TokenAttribution:
    """Attribution of one decision of a transfer model to its input tokens.

    Attributes
    ----------
    model, regime, task, lang, example_id : str
    layer : str
        The head's layer (``"last"`` for the finetune regime).
    tokens : list of str
        Subword pieces of the model input (special tokens included).
    scores : ndarray, shape (n_tokens,)
        Attribution of each token (summed over the embedding dimensions).
    words : list of str
        The example's words.
    word_tokens : list of list of int
        Positions in ``tokens`` of each word's pieces.
    unit : int
        The explained word (token tasks) or -1 (the whole pair, pair tasks).
    target, predicted : str
        The explained class and the model's prediction for the unit.
    target_prob : float
        Model probability of ``target``.
    output, baseline_output : float
        Attributed output (log-probability of ``target``) at the input and at the baseline.
    delta : float
        captum's convergence delta: ``sum(scores) - (output - baseline_output)``.
    group : str
        Examples sharing a group are parallel (shown side by side); by default the sentence id.
    method : str
    """

    model: str
    regime: str
    layer: str
    task: str
    lang: str
    example_id: str
    tokens: list[str]
    scores: np.ndarray
    words: list[str]
    word_tokens: list[list[int]]
    unit: int
    target: str
    predicted: str
    target_prob: float
    output: float
    baseline_output: float
    delta: float
    group: str = ""
    method: str = "layer_integrated_gradients"
    extra: dict[str, Any] = field(default_factory=dict)

    def word_scores(self) -> np.ndarray:
        """Attribution per word (sum over its pieces), shape ``(n_words,)``."""
        s = np.asarray(self.scores, dtype=np.float64)
        return np.array([float(s[list(t)].sum()) if len(t) else 0.0 for t in self.word_tokens])


def token_table(attrs: Sequence[TokenAttribution]) -> pd.DataFrame:
    """The tidy token table (:data:`TOKEN_COLUMNS`) of attribution records, one row per token."""
    rows = []
    for a in attrs:
        word_of = {}
        for w, toks in enumerate(a.word_tokens):
            for t in toks:
                word_of[int(t)] = w
        for p, (tok, sc) in enumerate(zip(a.tokens, np.asarray(a.scores, dtype=float))):
            w = word_of.get(p, -1)
            rows.append((a.model, a.regime, str(a.layer), a.task, a.lang, a.example_id, a.group or a.example_id,
                         int(a.unit), p, tok, w, a.words[w] if w >= 0 else "", float(sc), a.target, a.predicted,
                         float(a.target_prob), float(a.output), float(a.baseline_output), float(a.delta), a.method))
    return pd.DataFrame(rows, columns=list(TOKEN_COLUMNS))


def _records_from_table(df: pd.DataFrame) -> list[dict[str, Any]]:
    missing = [c for c in TOKEN_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"Token table lacks column(s) {missing}; it has {list(df.columns)}. "
                        "Pass the table written by python -m transfer.attribute tokens.")
    out = []
    for (_, _, lang, ex), d in df.groupby(["model", "task", "lang", "example_id"], sort=False):
        d = d.sort_values("position")
        first = d.iloc[0]
        nw = int(d["word_index"].max()) + 1 if (d["word_index"] >= 0).any() else 0
        words = [""] * nw
        wscore = np.zeros(nw)
        for w, s, word in zip(d["word_index"], d["score"], d["word"]):
            if w >= 0:
                words[int(w)] = str(word)
                wscore[int(w)] += float(s)
        out.append({"lang": lang, "example_id": ex, "group": str(first["group"]), "unit": int(first["unit"]),
                    "tokens": [str(t) for t in d["token"]], "scores": d["score"].to_numpy(float),
                    "words": words, "word_scores": wscore, "target": str(first["target"]),
                    "predicted": str(first["predicted"]), "target_prob": float(first["target_prob"]),
                    "delta": float(first["delta"]), "model": str(first["model"]), "task": str(first["task"]),
                    "regime": str(first["regime"]), "layer": str(first["layer"])})
    return out


def _records(attrs: Sequence[TokenAttribution]) -> list[dict[str, Any]]:
    return [{"lang": a.lang, "example_id": a.example_id, "group": a.group or a.example_id, "unit": a.unit,
             "tokens": list(a.tokens), "scores": np.asarray(a.scores, float), "words": list(a.words),
             "word_scores": a.word_scores(), "target": a.target, "predicted": a.predicted,
             "target_prob": a.target_prob, "delta": a.delta, "model": a.model, "task": a.task, "regime": a.regime,
             "layer": str(a.layer)} for a in attrs]


def _colour(score: float, scale: float) -> str:
    a = 0.0 if scale <= 0 else min(1.0, abs(score) / scale)
    rgb = "220,38,38" if score >= 0 else "37,99,235"
    return f"rgba({rgb},{a * 0.85:.3f})"


def _clean_piece(tok: str) -> str:
    return tok.replace("\u2581", " ").replace("\u0120", " ").replace("##", "")


def render_token_html(attrs: Sequence[TokenAttribution] | pd.DataFrame, *, level: str = "word",
                      title: str | None = None, max_groups: int | None = None) -> str:
    """Highlighted text of token attributions, parallel examples side by side.

    Parameters
    ----------
    attrs : sequence of TokenAttribution, or DataFrame
        Records, or the tidy table (:data:`TOKEN_COLUMNS`) read back from disk.
    level : {"word", "token"}
        Shade whole words (attribution summed over their pieces) or subword tokens.
    title : str, optional
        A heading above the fragment.
    max_groups : int, optional
        Show at most this many groups of parallel examples.

    Returns
    -------
    str
        One ``<div class="crossling-attr">`` fragment with inline styles, to
        embed verbatim in an HTML page. Every piece of text is escaped.

    Examples
    --------
    >>> a = TokenAttribution("m", "head", "2", "pos", "en", "s1", ["<s>", "cat", "</s>"], np.array([0, 1.0, 0]),
    ...                      ["cat"], [[1]], 0, "NOUN", "NOUN", 0.9, -0.1, -2.0, 0.0)
    >>> "crossling-attr" in render_token_html([a])
    True
    """
    if level not in ("word", "token"):
        raise ConfigError(f"level must be 'word' or 'token', got {level!r}.")
    recs = _records_from_table(attrs) if isinstance(attrs, pd.DataFrame) else _records(attrs)
    if not recs:
        raise DataError("No token attribution to render.")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        groups.setdefault(r["group"], []).append(r)
    keys = list(groups)[: max_groups] if max_groups else list(groups)
    e = html.escape
    parts = ['<div class="crossling-attr" style="font-family:sans-serif;font-size:14px;line-height:1.9">']
    if title:
        parts.append(f'<h3 style="margin:0.4em 0">{e(title)}</h3>')
    r0 = recs[0]
    parts.append(f'<p style="margin:0.2em 0;color:#444">model {e(r0["model"])}, regime {e(r0["regime"])}, '
                 f'layer {e(r0["layer"])}, task {e(r0["task"])}. Shading: attribution of the explained class '
                 '(<span style="background:rgba(220,38,38,0.6)">supports</span> / '
                 '<span style="background:rgba(37,99,235,0.6)">opposes</span>), layer integrated gradients on '
                 'the input embeddings; the explained word is underlined.</p>')
    for g in keys:
        parts.append(f'<div style="margin:0.6em 0"><div style="font-weight:bold">{e(g)}</div>'
                     '<div style="display:flex;flex-wrap:wrap;gap:12px">')
        for r in groups[g]:
            if level == "word" and r["words"]:
                items = [(w, s, i == r["unit"]) for i, (w, s) in enumerate(zip(r["words"], r["word_scores"]))]
            else:
                items = [(_clean_piece(t), s, False) for t, s in zip(r["tokens"], r["scores"])]
            scale = max((abs(float(s)) for _, s, _ in items), default=0.0)
            spans = []
            for text, s, is_unit in items:
                style = f"background:{_colour(float(s), scale)};padding:1px 2px;border-radius:3px"
                if is_unit:
                    style += ";text-decoration:underline;font-weight:bold"
                spans.append(f'<span style="{style}" title="{float(s):+.4f}">{e(text)}</span>')
            verdict = "correct" if r["predicted"] == r["target"] else f'predicted {e(r["predicted"])}'
            parts.append(
                '<div style="flex:1 1 260px;border:1px solid #ddd;border-radius:4px;padding:6px">'
                f'<div style="color:#555;font-size:12px">{e(r["lang"])} &middot; {e(r["example_id"])} &middot; '
                f'explains {e(r["target"])} (p={r["target_prob"]:.2f}, {verdict}) &middot; '
                f'delta {r["delta"]:+.1e}</div>'
                f'<div dir="auto">{" ".join(spans)}</div></div>')
        parts.append("</div></div>")
    parts.append("</div>")
    return "\n".join(parts)
