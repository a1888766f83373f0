"""The ``finetune`` regime: fine-tuning the encoder (all of it, or its top N blocks) with a task head.

For GPU users (``device: cuda`` is picked automatically when available); it
also runs on the CPU. A batch (task, source, seed) fine-tunes a fresh copy of
the encoder plus a linear head on the source's training examples, evaluates it
on every target's test pool (k = 0), and for k > 0 continues fine-tuning a copy
of the source-tuned model on k target examples before evaluating.

Schedule (docs/transfer.md, "Fine-tuning that converges on small data"): the
number of optimizer steps is ``max(min_steps, epochs x batches per epoch)``
(capped by ``max_steps``), with linear warmup over ``warmup_ratio`` of the
steps and linear decay to 0; a held-out slice of the *source* training pool
(``dev_fraction``) is scored every ``eval_every`` steps, the best state is kept
and training stops after ``patience`` evaluations without improvement. Target
data never reaches training before its few-shot step, and is never used for
early stopping (few-shot continuation runs ``max(fewshot_min_steps,
fewshot_epochs x batches)`` steps with no early stopping).

``top_n: N`` fine-tunes only the top N blocks plus the head: the frozen lower
part's output (layer L-N, subword level) is computed once per (task, language)
and cached (in memory and, inside a run, on disk with a SHA-256), then replayed
into block L-N+1 at every step; evaluation of every target reuses the same
cache. The trained part of a top-N source model (top blocks + head) is saved
under ``<out>/ft-models/`` with a SHA-256 (:func:`source_model_key`), so a
resumed batch or a later run that adds few-shot cells reloads it instead of
fine-tuning again. BERT/XLM-R-style encoders only for now (a T5 encoder's relative position
bias lives in block 0; use full fine-tuning there).

Word representations are the mean of the word's subword tokens in the last
layer (as in the head regime); a sentence pair is encoded as one sequence
with the tokenizer's pair template and mean-pooled over its content tokens.

Options (``finetune:`` in the config): see :data:`FINETUNE_DEFAULTS`. The model
itself (:class:`TaskModel`, the top-N replay, the step schedule) is in
``transfer.regimes._model``; this module holds the options, the pools
(:class:`FinetuneData`), the on-disk top-N state cache and the regime.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossling.config import Interval, Options, check_params
from crossling.errors import ConfigError, DataError, short_repr
from crossling.types import Sentence
from transfer.execution.jobs import Batch, CellStore
from transfer.regimes._base import (
    REGIMES,
    cell_rows,
    error_text,
    fail_batch,
    fail_cell,
    finish_cell,
    score,
    source_examples,
)
from transfer.regimes._model import TaskModel, _sentence_key, build_task_model, split_dev, train_schedule
from transfer.splits import shot_indices
from transfer.tasks import Pools, get_task

__all__ = ["FinetuneData", "FinetuneRegime", "FINETUNE_DEFAULTS", "FINETUNE_CONSTRAINTS", "TaskModel",
           "source_model_key", "SOURCE_MODEL_FORMAT",
           "train_schedule", "check_options", "build_task_model", "split_dev", "fewshot_examples"]


#: Options of the finetune regime and their defaults (``finetune:`` in a transfer config).
FINETUNE_DEFAULTS: dict[str, Any] = {
    "epochs": 3,              # epochs over the source examples (a lower bound on steps comes from min_steps)
    "min_steps": 300,         # at least this many optimizer steps, whatever the pool size
    "max_steps": None,        # optional cap
    "warmup_ratio": 0.1,      # linear warmup over this share of the steps, then linear decay to 0
    "lr": 5e-5,               # encoder learning rate
    "head_lr": 1e-3,          # head learning rate
    "batch_size": 16,
    "max_length": 128,
    "weight_decay": 0.01,
    "dev_fraction": 0.1,      # held-out slice of the SOURCE pool for early stopping (0 = off)
    "eval_every": 50,         # steps between early-stopping evaluations
    "patience": 3,            # evaluations without improvement before stopping
    "fewshot_epochs": 5,
    "fewshot_min_steps": 50,  # few-shot continuation: at least this many steps (no early stopping)
    "top_n": None,            # None = full fine-tuning; N = only the top N blocks + head (cached lower layers)
    "train_embeddings": True,  # full fine-tuning: update the embedding layer too
    "dropout": None,          # override every dropout probability (None = the model's own)
    "mixed_precision": None,  # None or "bf16" (autocast; on a CPU without bf16 units it is slower)
    "device": None,           # "cuda" if available, else "cpu"
    "prefix": "",
    "batching": "random",     # "length": batches of similar length (less padding, other batches than "random")
    "fewshot_source_mix": 0.0,  # share of each few-shot batch drawn from the source's training examples (0 = shots only)
}

#: Options added after :data:`SOURCE_MODEL_FORMAT` v1: they enter a saved model's key only when not
#: at this value, so models saved before they existed stay valid.
_LATER_OPTIONS = {k: FINETUNE_DEFAULTS[k] for k in ("batching",)}

#: Options of the few-shot continuation only, added after format v1: never part of a source model's key.
_FEWSHOT_ONLY = ("fewshot_source_mix",)

#: Declared ranges of the options (the suite's one mechanism, :func:`crossling.config.check_params`).
FINETUNE_CONSTRAINTS: dict[str, list[Any]] = {
    "epochs": [Interval("int", 0, 10**4)],
    "min_steps": [Interval("int", 0, 10**7)],
    "max_steps": [Interval("int", 1, 10**7), None],
    "warmup_ratio": [Interval("real", 0, 1)],
    "lr": [Interval("real", 0, 1, closed="right", meaning="encoder learning rate")],
    "head_lr": [Interval("real", 0, 10, closed="right", meaning="head learning rate")],
    "batch_size": [Interval("int", 1, 10**5)],
    "max_length": [Interval("int", 4, 10**6)],
    "weight_decay": [Interval("real", 0, None)],
    "dev_fraction": [Interval("real", 0, 0.5, meaning="share of the source pool held out for early stopping")],
    "eval_every": [Interval("int", 1, 10**7)],
    "patience": [Interval("int", 1, 10**4)],
    "fewshot_epochs": [Interval("int", 0, 10**4)],
    "fewshot_min_steps": [Interval("int", 0, 10**7)],
    "top_n": [Interval("int", 1, 10**3), None],
    "train_embeddings": [bool],
    "dropout": [Interval("real", 0, 1, closed="left"), None],
    "mixed_precision": [Options(("bf16",)), None],
    "device": [str, None],
    "prefix": [str],
    "batching": [Options(("random", "length"))],
    "fewshot_source_mix": [Interval("real", 0, 1, closed="left",
                                    meaning="share of each few-shot batch drawn from the source's training examples")],
}


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Merge ``options`` over :data:`FINETUNE_DEFAULTS` and validate every value.

    Parameters
    ----------
    options : dict

    Returns
    -------
    dict
        The resolved options.

    Raises
    ------
    ConfigError
        Naming the option, the rule, the value and the fix.
    """
    unknown = set(options) - set(FINETUNE_DEFAULTS)
    if unknown:
        raise ConfigError(f"Unknown finetune option(s) {short_repr(sorted(map(str, unknown)))}; "
                          f"valid: {sorted(FINETUNE_DEFAULTS)}.")
    opts = {**FINETUNE_DEFAULTS, **options}
    check_params(opts, FINETUNE_CONSTRAINTS, where="finetune option")
    return opts



@dataclass
class FinetuneData:
    """Sentence pools for fine-tuning, read lazily in the worker (picklable).

    Parameters mirror :meth:`DownstreamTask.pools`.
    """

    data_dir: str
    model: str
    pool_cap: int | None = None
    test_cap: int | None = None
    test_fraction: float = 0.5
    split_seed: int = 0

    def __post_init__(self) -> None:
        self._cache: dict[tuple[str, str], Pools] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_cache"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = {}

    def get(self, task: str, lang: str) -> Pools:
        key = (task, lang)
        if key not in self._cache:
            self._cache[key] = get_task(task).pools(
                self.data_dir, lang, pool_cap=self.pool_cap, test_cap=self.test_cap,
                test_fraction=self.test_fraction, split_seed=self.split_seed)
        return self._cache[key]

    def fingerprint(self) -> str:
        d = {k: v for k, v in self.__getstate__().items()}
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def n_examples(self, task: str, lang: str, pool: str) -> int:
        p = self.get(task, lang)
        return len(p.train if pool == "train" else p.test)

    def pool_from(self, task: str, lang: str) -> tuple[str, str]:
        p = self.get(task, lang)
        return p.train_from, p.test_from

    def layers(self, task: str, lang: str) -> list[int]:
        return []


_MODELS: dict[str, Any] = {}


def _loaded(spec: str) -> Any:
    if spec not in _MODELS:
        from probes.models import load_model

        _MODELS.clear()
        _MODELS[spec] = load_model(spec)
    return _MODELS[spec]



class _DiskStates:
    """Top-N lower-layer states of one (model, task, language, layer) on disk, with a SHA-256."""

    def __init__(self, root: Path, key: str):
        self.path = root / "ft-states" / f"{key}.npz"

    def load(self, tm: TaskModel) -> None:
        from crossling.io import sha256_file

        sums = self.path.with_suffix(".sha256")
        if not (self.path.is_file() and sums.is_file()):
            return
        if sums.read_text().strip() != sha256_file(self.path):
            self.path.unlink(missing_ok=True)  # damaged: recomputed below, never trusted
            return
        with np.load(self.path, allow_pickle=False) as z:
            for k in z.files:
                tm.cache.setdefault(k, z[k])

    def save(self, tm: TaskModel, keys: list[str]) -> None:
        import io

        from crossling.io import atomic_write_bytes, atomic_write_text

        buf = io.BytesIO()
        np.savez(buf, **{k: tm.cache[k] for k in keys})
        data = buf.getvalue()
        atomic_write_bytes(self.path, data)
        atomic_write_text(self.path.with_suffix(".sha256"), hashlib.sha256(data).hexdigest())


#: Bumped when what a saved source model means changes (invalidates the files under ``ft-models/``).
SOURCE_MODEL_FORMAT = "ft-source-v1"


def fewshot_examples(shots: list[Sentence], source: list[Sentence], mix: float) -> list[Sentence]:
    """The examples of a few-shot continuation: the shots, and with ``mix > 0`` the source's too.

    With ``mix > 0`` the shots are repeated ``R`` times next to the source's training examples,
    ``R`` chosen so that a share of about ``mix`` of the examples, and so of each batch drawn from
    their permutation, are source examples: the continuation keeps seeing the task's source data
    while it adapts to the target (50 steps on a handful of shots alone can overfit them).

    Parameters
    ----------
    shots : list of Sentence
        The ``k`` target examples.
    source : list of Sentence
        The source's training examples (without its early-stopping slice).
    mix : float
        In ``[0, 1)``; 0 returns ``shots`` unchanged.

    Returns
    -------
    list of Sentence

    Examples
    --------
    >>> len(fewshot_examples(["a"] * 10, ["s"] * 900, 0.5)), len(fewshot_examples(["a"] * 10, ["s"] * 900, 0.0))
    (1800, 10)
    """
    if not 0 <= mix < 1:
        raise ConfigError(f"fewshot_source_mix must lie in [0, 1), got {mix!r}.")
    if mix == 0 or not source or not shots:
        return list(shots)
    repeat = max(1, round((1 - mix) / mix * len(source) / len(shots)))
    return list(shots) * repeat + list(source)


def source_model_key(batch: Batch, opts: dict[str, Any]) -> str:
    """Content key of a batch's source-tuned model: the run spec, the resolved options, (task, src, seed)."""
    opts = {k: v for k, v in opts.items()
            if k not in _FEWSHOT_ONLY and not (k in _LATER_OPTIONS and v == _LATER_OPTIONS[k])}
    blob = json.dumps({"format": SOURCE_MODEL_FORMAT, "spec": batch.spec.key(), "options": opts,
                       "source": [batch.task, batch.src, batch.seed]}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class _DiskModel:
    """The trained part of a top-N source model (top blocks + head + the training log) on disk, with a SHA-256.

    A batch resumed after an interruption, or a later run that adds few-shot cells to a finished
    zero-shot grid, reloads the source model instead of fine-tuning it again. Only top-N models are
    saved (their trainable part is small: about 28 MB for e5-small's top 4 blocks).
    """

    def __init__(self, root: Path, key: str):
        self.path = root / "ft-models" / f"{key}.pt"

    def load(self, tm: TaskModel) -> dict[str, Any] | None:
        import io

        import torch

        from crossling.io import sha256_file

        sums = self.path.with_suffix(".sha256")
        if not (self.path.is_file() and sums.is_file()):
            return None
        if sums.read_text().strip() != sha256_file(self.path):
            self.path.unlink(missing_ok=True)  # damaged: trained again, never trusted
            return None
        raw = io.BytesIO(self.path.read_bytes())
        blob = torch.load(raw, weights_only=True, map_location=tm.device)
        params = dict(tm.encoder.named_parameters())
        if set(blob["encoder"]) != {n for n, p in params.items() if p.requires_grad}:
            return None  # another top_n or architecture: not this model
        with torch.no_grad():
            for name, value in blob["encoder"].items():
                params[name].copy_(value)
        tm.head.load_state_dict(blob["head"])
        tm.seen.update(blob["seen"])
        tm.encoder.eval()
        return json.loads(blob["log"])

    def save(self, tm: TaskModel, log: dict[str, Any]) -> None:
        import io

        import torch

        from crossling.io import atomic_write_bytes, atomic_write_text

        buf = io.BytesIO()
        torch.save({"encoder": {n: p.detach().cpu() for n, p in tm.encoder.named_parameters() if p.requires_grad},
                    "head": {k: v.detach().cpu() for k, v in tm.head.state_dict().items()},
                    "seen": sorted(tm.seen), "log": json.dumps(log, default=float)}, buf)
        data = buf.getvalue()
        atomic_write_bytes(self.path, data)
        atomic_write_text(self.path.with_suffix(".sha256"), hashlib.sha256(data).hexdigest())


@REGIMES.register("finetune")
class FinetuneRegime:
    """Fine-tuning of the encoder (full, or top N blocks) with a task head."""

    name = "finetune"

    def _states(self, tm: TaskModel, store: CellStore, batch: Batch, lang: str, sents: list[Sentence],
                pool: str) -> None:
        if tm.top_n is None or not sents:
            return
        key = hashlib.sha256(json.dumps([batch.spec.model, batch.task, lang, pool, tm.split, tm.max_length,
                                         tm.prefix, len(sents)]).encode()).hexdigest()[:20]
        disk = _DiskStates(store.out, key)
        disk.load(tm)
        missing = [s for s in sents if _sentence_key(s) not in tm.cache]
        if missing:
            tm.lower_states(sents)
            disk.save(tm, list(dict.fromkeys(_sentence_key(s) for s in sents)))

    def run_batch(self, batch: Batch, store: CellStore) -> list[dict[str, Any]]:
        import torch

        task = get_task(batch.task)
        data: FinetuneData = batch.features
        outcomes: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        try:
            opts = check_options(dict(batch.spec.finetune))
            device = opts["device"] or ("cuda" if torch.cuda.is_available() else "cpu")
            train_kw = {"lr": float(opts["lr"]), "head_lr": float(opts["head_lr"]),
                        "batch_size": int(opts["batch_size"]), "weight_decay": float(opts["weight_decay"])}
            torch.manual_seed(batch.seed)
            loaded = _loaded(batch.spec.model)
            src = data.get(batch.task, batch.src)
            n_src = int(batch.spec.n_src.get(batch.task, len(src.train)))
            rows_src = source_examples(len(src.train), n_src, task=batch.task, src=batch.src, seed=batch.seed)
            tr, dv = split_dev(len(rows_src), float(opts["dev_fraction"]), seed=batch.seed,
                               key=f"{batch.task}/{batch.src}")
            train_sents = [src.train[i] for i in rows_src[tr]]
            dev_sents = [src.train[i] for i in rows_src[dv]]
            model = build_task_model(loaded, task, opts, seed=batch.seed, device=device)
            self._states(model, store, batch, batch.src, [src.train[i] for i in rows_src], "train")
            saved = _DiskModel(store.out, source_model_key(batch, opts)) if model.top_n is not None else None
            if saved is None or saved.load(model) is None:
                log = model.train(train_sents, epochs=int(opts["epochs"]), seed=batch.seed,
                                  min_steps=int(opts["min_steps"]), max_steps=opts["max_steps"],
                                  warmup_ratio=float(opts["warmup_ratio"]), dev=dev_sents,
                                  eval_every=int(opts["eval_every"]), patience=int(opts["patience"]),
                                  batching=str(opts["batching"]), **train_kw)
                if saved is not None:
                    saved.save(model, log)
        except Exception as exc:  # noqa: BLE001 - recorded per cell, the grid goes on
            msg = f"source fine-tuning failed: {error_text(exc)}"
            return fail_batch(batch, store, msg)
        share = (time.perf_counter() - t0) / max(1, len(batch.cells))
        for cell, h in batch.cells:
            t1 = time.perf_counter()
            try:
                tgt = data.get(cell.task, cell.tgt)
                test_keys = {_sentence_key(s) for s in tgt.test}
                m = model
                n_shots = 0
                if cell.k > 0:
                    shots = shot_indices(len(tgt.train), cell.k, seed=cell.seed, key=f"{cell.task}/{cell.tgt}")
                    n_shots = len(shots)
                    m = model.copy()
                    shot_sents = [tgt.train[i] for i in shots]
                    self._states(m, store, batch, cell.tgt, shot_sents, f"shots{cell.seed}")
                    # the number of steps comes from the shots alone, whatever the mix
                    steps = train_schedule(len(shot_sents), batch_size=int(opts["batch_size"]),
                                           epochs=int(opts["fewshot_epochs"]),
                                           min_steps=int(opts["fewshot_min_steps"]))
                    m.train(fewshot_examples(shot_sents, train_sents, float(opts["fewshot_source_mix"])),
                            epochs=0, seed=cell.seed, min_steps=steps, warmup_ratio=float(opts["warmup_ratio"]),
                            batching=str(opts["batching"]), **train_kw)
                if m.seen & test_keys:
                    raise DataError(f"{len(m.seen & test_keys)} test example(s) of {cell.tgt} were in training; "
                                    "the pools overlap (check the task's split).")
                self._states(m, store, batch, cell.tgt, list(tgt.test), "test")
                pred = m.predict(tgt.test)
                gold = [task.gold(s) for s in tgt.test]
                scores = score(task, gold, pred, batch.spec.metrics)
                rows = cell_rows(batch, cell, h, scores, n_train=len(rows_src) + n_shots, n_shots=n_shots,
                                 n_test=len(tgt.test), train_from=src.train_from, test_from=tgt.test_from,
                                 model=batch.spec.model, layer="last")
                outcomes.append(finish_cell(store, cell, h, rows, time.perf_counter() - t1 + share))
            except Exception as exc:  # noqa: BLE001 - recorded per cell, the grid goes on
                outcomes.append(fail_cell(store, cell, h, exc, time.perf_counter() - t1))
        return outcomes
