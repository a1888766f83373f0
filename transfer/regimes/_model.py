"""The fine-tuned model of the ``finetune`` regime: an encoder plus a linear task head.

:class:`TaskModel` fine-tunes a copy of an encoder (all of it, or only its top
N blocks: the frozen lower part's layer L-N states are computed once, cached
per sentence and replayed into block L-N+1 at every step) with a linear head
over mean-pooled word or pair representations. :func:`train_schedule` is the
step count rule, :func:`split_dev` the held-out slice of the source pool used
for early stopping, :func:`build_task_model` builds a model from resolved
options. The regime that drives it is :mod:`transfer.regimes.finetune`.
"""

from __future__ import annotations

import copy
import hashlib
import math
from typing import Any

import numpy as np

from crossling.errors import ConfigError, ModelError
from crossling.types import Sentence
from transfer.tasks import DownstreamTask

__all__ = ["TaskModel", "train_schedule", "build_task_model", "split_dev"]


def train_schedule(n_examples: int, *, batch_size: int, epochs: int, min_steps: int,
                   max_steps: int | None = None) -> int:
    """Number of optimizer steps: ``max(min_steps, epochs x ceil(n / batch_size))``, capped by ``max_steps``.

    Parameters
    ----------
    n_examples, batch_size, epochs, min_steps : int
    max_steps : int, optional

    Returns
    -------
    int
        0 when there is nothing to train on.

    Examples
    --------
    >>> train_schedule(500, batch_size=16, epochs=2, min_steps=300)
    300
    >>> train_schedule(5000, batch_size=16, epochs=2, min_steps=300)
    626
    """
    if n_examples <= 0 or (epochs <= 0 and min_steps <= 0):
        return 0
    n = max(min_steps, epochs * -(-n_examples // batch_size))
    return min(n, max_steps) if max_steps else n



def _sentence_key(s: Sentence) -> str:
    h = hashlib.sha256(f"{s.lang}\x1f{s.sent_id}\x1f{s.text}\x1f{s.text_b or ''}".encode()).hexdigest()
    return h[:24]



def _stub_modules() -> tuple[type, type]:
    import torch

    class _Skip(torch.nn.Module):
        """A frozen block whose work is already in the cache: passes its input through."""

        def forward(self, hidden_states: Any, *args: Any, **kwargs: Any) -> Any:
            return hidden_states

    class _Replay(torch.nn.Module):
        """The last frozen module: returns the cached layer L-N states of the current batch."""

        def __init__(self) -> None:
            super().__init__()
            self.states: Any = None

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            if self.states is None:
                raise ModelError("Internal error: the top-N replay module was called without cached states.")
            return self.states

    return _Skip, _Replay


class TaskModel:
    """An encoder plus a linear head over mean-pooled word or pair representations.

    Parameters
    ----------
    encoder : torch.nn.Module
        A Hugging Face encoder returning ``last_hidden_state`` (fine-tuned in place: pass a copy).
    tokenizer : fast tokenizer
    task : DownstreamTask
    device : str
    max_length : int
    prefix : str
    seed : int
        Seed of the head's initialisation.
    top_n : int, optional
        Fine-tune only the top ``top_n`` blocks; the lower part is frozen and
        its output (layer ``L - top_n``) replayed from a cache.
    train_embeddings : bool, default=True
        Full fine-tuning only: whether the embedding layer is updated.
    dropout : float, optional
        Override every dropout probability of the encoder.
    """

    def __init__(self, encoder: Any, tokenizer: Any, task: DownstreamTask, *, device: str, max_length: int,
                 prefix: str = "", seed: int = 0, top_n: int | None = None, train_embeddings: bool = True,
                 dropout: float | None = None):
        import torch

        from crossling.layers import _blocks_and_path
        from probes.models import T5_TYPES

        self.encoder = encoder.to(device)
        self.tokenizer = tokenizer
        self.task = task
        self.device = device
        self.max_length = max_length
        self.prefix = prefix
        self.autocast: str | None = None
        self.seen: set[str] = set()  # keys of every sentence this model was trained on (leak checks)
        hidden = int(getattr(encoder.config, "hidden_size", None) or getattr(encoder.config, "d_model"))
        g = torch.Generator().manual_seed(seed)
        self.head = torch.nn.Linear(hidden, len(task.labels)).to(device)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=g) * 0.02)
            self.head.bias.zero_()
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = int(pad) if pad is not None else 0
        if dropout is not None:
            for m in self.encoder.modules():
                if isinstance(m, torch.nn.Dropout):
                    m.p = float(dropout)
        arch = "t5" if getattr(encoder.config, "model_type", "") in T5_TYPES else "bert"
        self.blocks = _blocks_and_path(self.encoder, arch)[0]
        self.n_blocks = len(self.blocks)
        self.top_n = top_n
        self.cache: dict[str, np.ndarray] = {}
        self._replay: Any = None
        if top_n is not None:
            if arch == "t5":
                raise ConfigError("The finetune option 'top_n' supports BERT/XLM-R-style encoders only (a T5 "
                                  "encoder's relative position bias is computed in block 0); set top_n: null "
                                  "for full fine-tuning of T5/mT5.")
            if not 1 <= top_n <= self.n_blocks:
                raise ConfigError(f"The finetune option 'top_n' must be between 1 and the model's {self.n_blocks} "
                                  f"blocks, got {top_n}.")
            self.split = self.n_blocks - top_n  # cached layer: 0 = embedding output, i = output of block i
            self._frozen = (self.split, copy.deepcopy([self.blocks[i] for i in range(self.split)]),
                            self.encoder.embeddings)
            for p in self.encoder.parameters():
                p.requires_grad_(False)
            for i in range(self.split, self.n_blocks):
                for p in self.blocks[i].parameters():
                    p.requires_grad_(True)
            skip, replay = _stub_modules()
            self._replay = replay().to(device)
            if self.split == 0:
                self.encoder.embeddings = self._replay
            else:
                for i in range(self.split - 1):
                    self.blocks[i] = skip()
                self.blocks[self.split - 1] = self._replay
        elif not train_embeddings:
            emb = getattr(self.encoder, "embeddings", None) or getattr(self.encoder, "shared", None)
            if emb is not None:
                for p in emb.parameters():
                    p.requires_grad_(False)

    def copy(self) -> TaskModel:
        """A deep copy (the cache of lower-layer states is shared, not copied)."""
        cache, self.cache = self.cache, {}
        try:
            new = copy.deepcopy(self)
        finally:
            self.cache = cache
        new.cache = cache
        return new

    def trainable(self) -> list[Any]:
        return [p for p in self.encoder.parameters() if p.requires_grad] + list(self.head.parameters())

    # ------------------------------------------------------------------ inputs
    def _batch_inputs(self, sents: list[Sentence]) -> tuple[list[Any], Any, Any]:
        import torch

        from probes.extraction.encode import tokenize_sentences

        toks = tokenize_sentences(self.tokenizer, sents, prefix=self.prefix, max_length=self.max_length)
        T = max(len(t.ids) for t in toks)
        ids = np.full((len(toks), T), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(toks), T), dtype=np.int64)
        for r, t in enumerate(toks):
            ids[r, : len(t.ids)] = t.ids
            mask[r, : len(t.ids)] = 1
        return toks, torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device)

    def lower_states(self, sents: list[Sentence], batch_size: int = 32) -> list[np.ndarray]:
        """Layer ``L - top_n`` states (n_tokens, hidden) of each sentence, computed with the frozen lower part.

        Reads and fills :attr:`cache`; only sentences not cached yet are encoded.
        """
        import torch

        if self.top_n is None:
            raise ConfigError("lower_states() needs a top-N model (top_n set).")
        split, lower_blocks, embeddings = self._frozen
        todo = list({_sentence_key(s): s for s in sents if _sentence_key(s) not in self.cache}.values())
        todo = [todo[i] for i in self._by_length(todo)]  # batches of similar length: little padding
        for lo in range(0, len(todo), batch_size):
            chunk = todo[lo: lo + batch_size]
            toks, ids, mask = self._batch_inputs(chunk)
            with torch.no_grad():
                h = embeddings(input_ids=ids)
                if split > 0:
                    ext = _bert_mask(self.encoder, mask, h)
                    for blk in lower_blocks:
                        blk.eval()
                        out = blk(h, ext)
                        h = out[0] if isinstance(out, tuple) else out
            hs = h.float().cpu().numpy()
            for r, (s, t) in enumerate(zip(chunk, toks)):
                self.cache[_sentence_key(s)] = hs[r, : len(t.ids)].copy()
        return [self.cache[_sentence_key(s)] for s in sents]

    def _forward(self, sents: list[Sentence]) -> tuple[Any, list[int]]:
        import torch

        toks, ids, mask = self._batch_inputs(sents)
        if self._replay is not None:
            states = self.lower_states(sents)
            T = ids.shape[1]
            buf = np.zeros((len(sents), T, states[0].shape[1]), dtype=np.float32)
            for r, st in enumerate(states):
                buf[r, : len(st)] = st
            self._replay.states = torch.from_numpy(buf).to(self.device)
        ctx = (torch.autocast(device_type="cuda" if str(self.device).startswith("cuda") else "cpu",
                              dtype=torch.bfloat16) if self.autocast == "bf16" else _null_context())
        with ctx:
            out = self.encoder(input_ids=ids, attention_mask=mask)
        if self._replay is not None:
            self._replay.states = None
        hs = (out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]).float()
        B, T = ids.shape
        rows: list[tuple[int, np.ndarray]] = []
        counts = []
        for r, t in enumerate(toks):
            if self.task.kind == "pair":
                groups = [t.content if t.content.size else np.arange(len(t.ids))]
            else:
                groups = [tk if tk.size else np.array([0]) for tk in t.word_tokens]
            counts.append(len(groups))
            rows.extend((r, g) for g in groups)
        P = np.zeros((len(rows), B * T), dtype=np.float32)
        for i, (r, g) in enumerate(rows):
            P[i, r * T + g] = 1.0 / len(g)
        units = torch.from_numpy(P).to(self.device) @ hs.reshape(B * T, -1)
        return units, counts

    # backwards-compatible name (captum explainers call it)
    _encode = _forward

    def _labels(self, sents: list[Sentence]) -> np.ndarray:
        lab = self.task.label_id()
        return np.array([lab.get(l, -1) for s in sents for l in self.task.gold(s)], dtype=np.int64)

    # ------------------------------------------------------------------ training
    def train(self, sents: list[Sentence], *, epochs: int, lr: float, head_lr: float, batch_size: int,
              weight_decay: float, seed: int, min_steps: int = 0, max_steps: int | None = None,
              warmup_ratio: float = 0.0, dev: list[Sentence] | None = None, eval_every: int = 50,
              patience: int = 3, batching: str = "random") -> dict[str, Any]:
        """Fine-tune on ``sents`` (AdamW, linear warmup then linear decay), early stopping on ``dev``.

        ``batching="random"`` draws each epoch's batches from one permutation; ``"length"`` sorts
        each block of 50 batches of that permutation by length, cuts it into batches and shuffles
        the batches (the same examples per epoch, less padding, a different trajectory).

        Returns
        -------
        dict
            ``steps`` run, ``planned`` steps, ``best_step`` and ``dev_score``
            (NaN without ``dev``), ``losses`` (mean loss per evaluation window).
        """
        import torch

        n_steps = train_schedule(len(sents), batch_size=batch_size, epochs=epochs, min_steps=min_steps,
                                 max_steps=max_steps)
        log: dict[str, Any] = {"steps": 0, "planned": n_steps, "best_step": 0, "dev_score": float("nan"),
                               "losses": []}
        if n_steps == 0:
            return log
        self.seen.update(_sentence_key(s) for s in sents)
        if self._replay is not None:
            self.lower_states(list(sents) + list(dev or []))
        params = self.trainable()
        opt = torch.optim.AdamW([
            {"params": [p for p in self.encoder.parameters() if p.requires_grad], "lr": lr},
            {"params": list(self.head.parameters()), "lr": head_lr},
        ], weight_decay=weight_decay)
        warm = int(round(warmup_ratio * n_steps))

        def factor(step: int) -> float:
            if warm and step < warm:
                return (step + 1) / warm
            return max(0.0, (n_steps - step) / max(1, n_steps - warm))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        rng = np.random.default_rng(seed)
        best: tuple[float, int, Any] | None = None
        bad = 0
        window: list[float] = []
        batches: list[np.ndarray] = []
        pos = 0
        step = 0
        self.encoder.train()
        while step < n_steps:
            if pos >= len(batches):
                batches, pos = self._epoch_batches(sents, batch_size, rng, batching), 0
            batch = [sents[i] for i in batches[pos]]
            pos += 1
            y = torch.from_numpy(self._labels(batch)).to(self.device)
            units, _ = self._forward(batch)
            loss = torch.nn.functional.cross_entropy(self.head(units), y, ignore_index=-1)
            if not torch.isfinite(loss):
                raise ModelError("Fine-tuning loss became non-finite; lower the finetune option 'lr'.")
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            window.append(float(loss.detach()))
            if step % eval_every == 0 or step == n_steps:
                log["losses"].append(float(np.mean(window)))
                window = []
                if dev:
                    score = self.score(dev)
                    self.encoder.train()
                    if best is None or score > best[0]:
                        best, bad = (score, step, self._state()), 0
                    else:
                        bad += 1
                        if bad >= patience:
                            break
        log["steps"] = step
        if best is not None:
            self._load_state(best[2])
            log["best_step"], log["dev_score"] = best[1], best[0]
        else:
            log["best_step"] = step
        self.encoder.eval()
        return log

    def _epoch_batches(self, sents: list[Sentence], batch_size: int, rng: np.random.Generator,
                       batching: str) -> list[np.ndarray]:
        """One epoch's batches (positions in ``sents``); see :meth:`train`."""
        order = rng.permutation(len(sents))
        if batching == "random":
            return [order[lo: lo + batch_size] for lo in range(0, len(order), batch_size)]
        if batching != "length":
            raise ConfigError(f"batching={batching!r} is not a batching; use 'random' or 'length'.")
        lengths = np.array([_char_length(s) for s in sents])
        block = 50 * batch_size
        out: list[np.ndarray] = []
        for lo in range(0, len(order), block):
            chunk = order[lo: lo + block]
            chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
            out += [chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size)]
        return [out[i] for i in rng.permutation(len(out))]

    def _state(self) -> dict[str, Any]:
        return {"encoder": {k: v.detach().clone() for k, v in self.encoder.state_dict().items()},
                "head": {k: v.detach().clone() for k, v in self.head.state_dict().items()}}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.head.load_state_dict(state["head"])

    def score(self, sents: list[Sentence]) -> float:
        """The task's headline metric on ``sents`` (used for early stopping)."""
        from transfer.metrics import METRICS

        pred = self.predict(sents)
        scores = METRICS.get(self.task.metric)([self.task.gold(s) for s in sents], pred)
        return float(next(iter(scores.values())))

    def predict(self, sents: list[Sentence], batch_size: int = 32) -> list[list[str]]:
        """Predicted labels per example (one per word, or one per pair)."""
        import torch

        out: list[list[str]] = [[] for _ in sents]
        order = self._by_length(sents)  # batches of similar length: little padding (same predictions)
        self.encoder.eval()
        with torch.no_grad():
            for lo in range(0, len(sents), batch_size):
                idx = order[lo: lo + batch_size]
                units, counts = self._forward([sents[i] for i in idx])
                pred = self.head(units).argmax(-1).cpu().numpy()
                pos = 0
                for i, c in zip(idx, counts):
                    out[i] = [self.task.labels[int(p)] for p in pred[pos: pos + c]]
                    pos += c
        return out

    def _by_length(self, sents: list[Sentence]) -> list[int]:
        """Positions of ``sents`` by descending character length (a cheap proxy of the token count)."""
        return sorted(range(len(sents)), key=lambda i: -_char_length(sents[i]))


class _null_context:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _bert_mask(encoder: Any, mask: Any, embedding_output: Any) -> Any:
    """The attention mask a BERT-style encoder's blocks expect, built the way the model builds it."""
    make = getattr(encoder, "_create_attention_masks", None)
    if make is not None:
        return make(attention_mask=mask, encoder_attention_mask=None, embedding_output=embedding_output,
                    encoder_hidden_states=None, cache=None, position_ids=None)[0]
    return encoder.get_extended_attention_mask(mask, mask.shape)


def _char_length(s: Sentence) -> int:
    """Characters of a sentence (both sides of a pair): a cheap proxy of its token count."""
    return len(s.text) + len(s.text_b or "")


def build_task_model(loaded: Any, task: DownstreamTask, opts: dict[str, Any], *, seed: int,
                     device: str) -> TaskModel:
    """A :class:`TaskModel` on a copy of ``loaded``'s encoder with the resolved regime options."""
    tm = TaskModel(copy.deepcopy(loaded.model), loaded.tokenizer, task, device=device,
                   max_length=int(opts["max_length"]), prefix=str(opts["prefix"]), seed=seed,
                   top_n=opts["top_n"], train_embeddings=bool(opts["train_embeddings"]), dropout=opts["dropout"])
    tm.autocast = opts["mixed_precision"]
    return tm



def split_dev(n: int, fraction: float, *, seed: int, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions (train, dev) of a source pool of ``n`` examples; dev is empty when fraction is 0 or n < 10."""
    n_dev = int(math.ceil(fraction * n)) if fraction > 0 and n >= 10 else 0
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(f"dev/{key}/{seed}".encode()).digest()[:8], "little"))
    perm = rng.permutation(n)
    return np.sort(perm[n_dev:]), np.sort(perm[:n_dev])
