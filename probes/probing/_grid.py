"""The probe grid: every (language, layer) cell of an activation store (:func:`train_grid`).

Labels come from the probe tasks (:mod:`probes.probing._tasks`); each task's
kind (:mod:`probes.probing._kinds`) codes them, checks that a cell has enough
data and fits the cell. Cells are independent (a resumed grid gives the same
table), saved under ``<out>/cells`` (:mod:`probes.probing._resume`), computed
here or on Ray (:mod:`probes.probing._ray`); the cross-lingual and pooled
sentence-level cells of each layer follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossling.errors import ConfigError, DataError, StoreError
from crossling.types import Sentence
from probes.probing._base import Head, Standardizer
from probes.probing._cell import (
    Cell,
    _cell_input,
    _CellInput,
    _LangData,
    _load_words,
    _local_y,
    _Rows,
    _score,
    _TaskData,
)
from probes.probing._config import COLUMNS, PROBES, TrainConfig, split_of
from probes.probing._kinds import get_kind, kind_key, kind_order
from probes.probing._logreg import LinearHeads
from probes.probing._metrics import accuracy, macro_f1
from probes.probing._resume import _Cells, _plan_key
from probes.probing._tasks import (
    ProbeTask,
    control_labels,
    resolve_tasks,
    sentences_from_index,
    task_labels,
)
from probes.probing._threads import _single_blas

__all__ = ["train_grid"]

#: Word-level tasks by kind: ``{kind: [task names]}``, kinds in registration order.
Groups = dict[str, list[str]]


def _prepare(store: Any, langs: list[str], cfg: TrainConfig,
             on_splits: Callable[[dict[str, _LangData]], None] | None = None
             ) -> tuple[dict[str, _LangData], list[ProbeTask], dict[str, list[str]], list[dict[str, Any]]]:
    """Sentences, splits and task labels of every language (``on_splits(lds)`` is called as soon as
    the splits are known, before the labels are computed)."""
    sents: dict[str, list[Sentence]] = {}
    lds: dict[str, _LangData] = {}
    for lang in langs:
        idx = store.word_index(lang)
        ss = sentences_from_index(idx, lang)
        sents[lang] = ss
        sent_split = split_of([s.sent_id for s in ss], cfg.split, cfg.seed)
        n_words = np.array([len(s.words) for s in ss])
        sow = np.repeat(np.arange(len(ss)), n_words)
        wsplit = sent_split[sow].astype(np.int8)
        if "in_window" in idx.columns:
            wsplit[~idx["in_window"].to_numpy(dtype=bool)] = -1
        lds[lang] = _LangData(lang, ss, wsplit, sent_split, sow)
    if on_splits is not None:
        on_splits(lds)
    tasks = resolve_tasks(cfg.tasks, sents, min_examples=cfg.min_examples, missing=cfg.morph_missing)
    vocab: dict[str, list[str]] = {}
    skipped: list[dict[str, Any]] = []
    for task in tasks:
        if task.level != "word":
            continue
        name = task.task_name
        kind = get_kind(task.kind)
        raws = {lang: task_labels(task, lds[lang].sentences) for lang in langs}
        labs = kind.vocabulary(task, raws)
        if labs is not None:
            vocab[name] = labs
        for lang in langs:
            ld = lds[lang]
            raw = raws[lang]
            y = kind.encode(raw, labs)
            td = _TaskData(task, raw, y)
            usable = ld.split >= 0
            lab = kind.labelled(y)
            tr = lab & (ld.split == 0)
            te = lab & (ld.split == 2)
            if tr.sum() < cfg.min_examples or te.sum() == 0:
                td.eligible, td.reason = False, f"{int(tr.sum())} labelled training words, {int(te.sum())} test words"
            else:
                reason = kind.check(td, y[tr], labs)
                if reason:
                    td.eligible, td.reason = False, reason
            if td.eligible and cfg.control and kind.has_control:
                td.control = kind.encode(control_labels(task, ld.sentences, raw, seed=cfg.seed), labs)
            y_masked = y.copy()
            y_masked[~usable] = kind.missing
            td.y = y_masked
            if not td.eligible:
                skipped.append({"lang": lang, "task": name, "reason": td.reason})
            ld.tasks[name] = td
    return lds, tasks, vocab, skipped


def _groups(tasks: list[ProbeTask]) -> Groups:
    """The word-level tasks by kind (kinds in registration order, tasks in order)."""
    by: dict[str, list[str]] = {}
    for t in tasks:
        if t.level == "word":
            by.setdefault(kind_key(t.kind), []).append(t.task_name)
    return {k: by[k] for k in kind_order(list(by))}


def _lang_cell(store: Any, cfg: TrainConfig, ld: _LangData, layer: int, groups: Groups,
               inp: _CellInput | None = None
               ) -> tuple[list[tuple[Any, ...]], dict[str, np.ndarray] | None, np.ndarray]:
    """All probes of one (language, layer): result rows, the linear probe and the raw test-word vectors
    (both for the layer's cross-lingual cell). ``groups``: the word-level tasks by kind
    (:func:`_groups`); ``inp``: the cell's features if already read."""
    rows = _Rows(store.model)
    if inp is None:
        inp = _cell_input(store, ld, layer)
    cell = Cell(cfg, ld, layer, inp, rows)
    saved: dict[str, np.ndarray] | None = None
    for key, names in groups.items():
        ok = [n for n in names if ld.tasks[n].eligible]
        if ok:
            got = get_kind(key).fit(cell, ok)
            if got is not None and saved is None:
                saved = got
    return rows.rows, saved, inp.X[ld.rows(2)]


def _layer_cell(store: Any, cfg: TrainConfig, lds: dict[str, _LangData], langs: list[str], layer: int,
                probes: dict[str, dict[str, np.ndarray]], pooled: list[ProbeTask],
                test_X: dict[str, np.ndarray]) -> list[tuple[Any, ...]]:
    """Cross-lingual transfer of the linear probes and the sentence-level tasks of one layer.

    ``test_X`` holds the raw test-word vectors of the languages computed in this run; those of
    cells reused from disk are read here.
    """
    rows = _Rows(store.model)
    if cfg.cross_lingual and probes:
        test_X = {b: test_X[b] if b in test_X else _load_words(store, b, layer, len(lds[b].split))[lds[b].rows(2)]
                  for b in langs}
        for a in langs:
            pa = probes.get(a)
            if pa is None:
                continue
            names = [str(x) for x in pa["names"]]
            lin = LinearHeads(W=pa["W"], b=pa["b"], heads=names, offsets=pa["offsets"])
            for b in langs:
                if b == a:
                    continue
                Xb = ((test_X[b] - pa["mean"]) / pa["scale"]).astype(np.float32)
                preds = lin.predict(Xb)
                ldb = lds[b]
                te = ldb.rows(2)
                for i, n in enumerate(names):
                    tdb = ldb.tasks[n]
                    if not tdb.eligible:
                        continue
                    y = _local_y(lds[a].tasks[n], tdb.y[te])
                    _score(rows, layer, b, n, "linear", y, preds[i], int((_train_y(lds[a], n) >= 0).sum()),
                           train_lang=a)
    for task in pooled:
        _pooled_task(store, rows, task, lds, langs, layer, cfg)
    return rows.rows


def _run_store(store: Any, cfg: TrainConfig, layers: list[int], langs: list[str], progress: bool,
               out: Path | None = None) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]], int]:
    """The grid of one store; returns (rows, skipped cells, cells reused from an earlier run)."""
    # BLAS single-threaded for the whole grid: the solver runs its own threads, and the background
    # thread's products must not change the thread count under the solver's feet
    with _single_blas():
        return _run_store_cells(store, cfg, layers, langs, progress, out)




def _run_store_cells(store: Any, cfg: TrainConfig, layers: list[int], langs: list[str], progress: bool,
                     out: Path | None) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]], int]:
    import threading

    from tqdm import tqdm

    cells = _Cells(out, _plan_key(cfg, langs), store) if out is not None else None
    # one thread reads, verifies and standardises the next cell's features (hashing, reading and
    # numpy release the GIL) while the current cell is solved, and the first cell's while the
    # labels are computed: the solver's threads then do not wait for them
    todo = [(layer, lang) for layer in layers for lang in langs
            if not (cells is not None and cells.exists(layer, lang))]
    order = todo if cfg.backend == "local" else []  # on Ray the workers read the cells
    split_of_lang: dict[str, _LangData] = {}
    resolved, need = threading.Event(), {"whiten": False}

    def whiten() -> bool:  # known once the tasks are resolved
        resolved.wait()
        return need["whiten"]

    ahead = _Prefetch(lambda cell, bg: _cell_input(store, split_of_lang[cell[1]], cell[0], whiten, bg), order)

    def splits_known(lds_: dict[str, _LangData]) -> None:
        split_of_lang.update(lds_)
        ahead.start()

    try:
        try:
            lds, tasks, vocab, skipped = _prepare(store, langs, cfg, on_splits=splits_known)
            groups = _groups(tasks)
            need["whiten"] = any(get_kind(k).needs_whitening(cfg) for k in groups)
        finally:
            resolved.set()
        pooled = [t for t in tasks if t.level == "sentence"]
        fresh = None
        if cfg.backend == "ray":
            from probes.probing._ray import cells_on_ray

            fresh = cells_on_ray(store, cfg, todo, lds, groups, cells, progress)
        bar = tqdm(total=len(layers) * len(langs), desc=f"probes {store.model}", unit="cell",
                   disable=not progress or fresh is not None)
        all_rows, reused = _grid_cells(store, cfg, layers, langs, lds, groups, pooled, cells, bar, ahead, fresh)
        bar.close()
    finally:
        ahead.close()
    return all_rows, skipped, reused


class _Prefetch:
    """Computes ``fn(item, True)`` for the next item of ``order`` in a background thread (``fn(item,
    False)`` for an item asked for that was not prefetched)."""

    def __init__(self, fn: Callable[[Any, bool], Any], order: list[Any]):
        from concurrent.futures import ThreadPoolExecutor

        self.fn, self.order = fn, order
        self.pool = ThreadPoolExecutor(1) if order else None
        self.pending: dict[Any, Any] = {}

    def start(self) -> None:
        """Start on the first item."""
        if self.pool is not None and self.order[0] not in self.pending:
            self.pending[self.order[0]] = self.pool.submit(self.fn, self.order[0], True)

    def get(self, item: Any) -> Any:
        """``fn(item)`` (prefetched when possible); starts on the item after it."""
        fut = self.pending.pop(item, None)
        if self.pool is not None and item in self.order:
            i = self.order.index(item)
            if i + 1 < len(self.order) and self.order[i + 1] not in self.pending:
                self.pending[self.order[i + 1]] = self.pool.submit(self.fn, self.order[i + 1], True)
        return fut.result() if fut is not None else self.fn(item, False)

    def close(self) -> None:
        for fut in self.pending.values():
            fut.cancel()
        if self.pool is not None:
            self.pool.shutdown()


def _grid_cells(store: Any, cfg: TrainConfig, layers: list[int], langs: list[str], lds: dict[str, _LangData],
                groups: Groups, pooled: list[ProbeTask], cells: Any, bar: Any,
                ahead: _Prefetch, fresh: dict[tuple[int, str], Any] | None = None
                ) -> tuple[list[tuple[Any, ...]], int]:
    """Rows of every cell: computed here, computed on Ray (``fresh``) or reused from disk."""
    all_rows: list[tuple[Any, ...]] = []
    reused = 0
    for layer in layers:
        probes: dict[str, dict[str, np.ndarray]] = {}
        test_X: dict[str, np.ndarray] = {}
        for lang in langs:
            new = fresh.pop((layer, lang), None) if fresh else None
            done = cells.load(layer, lang, with_probe=cfg.cross_lingual) if cells is not None and new is None else None
            if new is not None:
                got, saved = new
            elif done is None:
                got, saved, Xte = _lang_cell(store, cfg, lds[lang], layer, groups, ahead.get((layer, lang)))
                if cfg.cross_lingual:
                    test_X[lang] = Xte
                if cells is not None:
                    cells.save(layer, lang, got, saved)
            else:
                reused += 1
                got, saved = done
            if saved is not None:
                probes[lang] = saved
            all_rows.extend(got)
            bar.update(1)
        if (cfg.cross_lingual and probes) or pooled:
            done = cells.load(layer, "_all") if cells is not None else None
            if done is None:
                got = _layer_cell(store, cfg, lds, langs, layer, probes, pooled, test_X)
                if cells is not None:
                    cells.save(layer, "_all", got, None)
            else:
                got = done[0]
            all_rows.extend(got)
    return all_rows, reused


def _train_y(ld: _LangData, name: str) -> np.ndarray:
    """Training labels of task ``name`` in a language (for counting)."""
    return ld.tasks[name].y[ld.split == 0]


def _pooled_task(store: Any, rows: _Rows, task: ProbeTask, lds: dict[str, _LangData], langs: list[str], layer: int,
                 cfg: TrainConfig) -> None:
    Xs, labs, parts = [], [], []
    for lang in langs:
        ld = lds[lang]
        S = np.asarray(store.sentences(lang, layer), dtype=np.float32)
        if S.shape[0] != len(ld.sentences):
            raise ConfigError(f"Store {store.path}: {lang} layer {layer} has {S.shape[0]} sentence vectors but "
                              f"{len(ld.sentences)} sentences in its word index; re-extract.")
        if not np.isfinite(S).all():
            raise DataError(f"Store {str(store.path)!r}: sentence vectors of language {lang!r} at layer {layer} "
                            "contain NaN or Inf; re-extract the store or drop that language with --langs.")
        Xs.append(S)
        labs.extend(task_labels(task, ld.sentences))
        parts.append(ld.sent_split)
    X = np.concatenate(Xs)
    part = np.concatenate(parts)
    vocab = sorted({str(v) for v in labs if v is not None})
    if len(vocab) < 2:
        return
    lut = {v: i for i, v in enumerate(vocab)}
    y = np.array([-1 if v is None else lut[str(v)] for v in labs])
    tr, dv, te = (np.flatnonzero(part == k) for k in range(3))
    std = Standardizer(X[tr])
    Xtr = std.transform(X[tr])
    heads = [Head(task.task_name, y[tr], len(vocab), cfg.C[0])]
    fit = PROBES.get("linear")(Xtr, heads, cfg, None, std.transform(X[dv]), [y[dv]])
    pred = fit.predict(std.transform(X[te]))[0]
    yt = y[te]
    m = yt >= 0
    n_tr = int((y[tr] >= 0).sum())
    rows.add(layer, "all", task.task_name, "linear", "accuracy", accuracy(yt[m], pred[m]), n_tr, int(m.sum()))
    rows.add(layer, "all", task.task_name, "linear", "macro_f1", macro_f1(yt[m], pred[m]), n_tr, int(m.sum()))
    counts = np.bincount(y[tr][y[tr] >= 0], minlength=len(vocab))
    rows.add(layer, "all", task.task_name, "majority", "accuracy", float((yt[m] == counts.argmax()).mean()), n_tr,
             int(m.sum()))


def _check_control_store(main: Any, ctrl: Any) -> None:
    """The random-init control store must hold the same inputs as the main store."""
    problems = []
    mc, cc = main.manifest.get("corpus", {}), ctrl.manifest.get("corpus", {})
    if mc.get("hash") != cc.get("hash"):
        problems.append(f"corpus {cc.get('name')!r} (fingerprint {str(cc.get('hash'))[:12]}) vs "
                        f"{mc.get('name')!r} ({str(mc.get('hash'))[:12]})")
    if main.manifest.get("prefix", "") != ctrl.manifest.get("prefix", ""):
        problems.append(f"input prefix {ctrl.manifest.get('prefix')!r} vs {main.manifest.get('prefix')!r}")
    if main.manifest.get("pooling") != ctrl.manifest.get("pooling"):
        problems.append(f"word pooling {ctrl.manifest.get('pooling')!r} vs {main.manifest.get('pooling')!r}")
    if problems:
        raise StoreError(f"--random-activations {str(ctrl.path)!r} was not extracted from the same inputs as "
                         f"--activations {str(main.path)!r}: " + "; ".join(problems) + ". Extract the control with "
                         "the same --corpus, --langs, --limit and --prefix as the main store "
                         "(python -m probes.extract --model random:<shape> ...).")


def train_grid(cfg: TrainConfig, *, progress: bool = True, skipped: list[dict[str, Any]] | None = None,
               out: str | Path | None = None, stats: dict[str, int] | None = None) -> pd.DataFrame:
    """Run the whole grid of ``cfg`` and return the tidy result table.

    Every (language, layer) cell is computed independently of the others (no
    state is carried between cells), so a grid resumed from saved cells gives
    the same table as an uninterrupted run.

    Parameters
    ----------
    cfg : TrainConfig
    progress : bool, default=True
        Show a progress bar.
    skipped : list, optional
        Receives one dict (model, lang, task, reason) per cell without enough data.
    out : path, optional
        Output directory: finished cells are saved under ``<out>/cells`` and
        reused when the same grid is run again (resume after an interruption).
    stats : dict, optional
        Receives ``cells`` (language/layer cells in the grid) and ``reused``.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; one row per (model, layer, lang, task, probe,
        metric, train_lang, test_lang). Cross-lingual rows have ``lang ==
        test_lang != train_lang``; pooled sentence-level tasks have ``lang == "all"``.

    Raises
    ------
    DataError
        When no (language, task) cell has ``min_examples`` labelled training words.
    StoreError
        When ``random_activations`` holds other inputs than ``activations``.
    """
    from crossling.layers import parse_layers
    from probes.extraction.store import ActivationStore

    if cfg.threads:
        import torch

        torch.set_num_threads(int(cfg.threads))
    stores = [ActivationStore(cfg.activations)]
    if cfg.random_activations:
        stores.append(ActivationStore(cfg.random_activations))
        _check_control_store(stores[0], stores[1])
    all_rows: list[tuple[Any, ...]] = []
    n_cells = n_reused = 0
    main_cfg = cfg
    for k, store in enumerate(stores):
        cfg = main_cfg if k == 0 or main_cfg.random_mdl else replace(main_cfg, mdl=False)
        langs = store.resolve_groups(cfg.langs) if cfg.langs else store.languages
        for lang in langs:
            store.check(lang)
        layers = parse_layers(cfg.layers, max(store.layers)) if cfg.layers != "all" else store.layers
        for layer in layers:
            store.check(layer=layer)
        rows, skipped_here, reused = _run_store(store, cfg, layers, langs, progress,
                                                Path(out) if out is not None else None)
        if not rows and skipped_here:
            raise DataError(_all_skipped_message(store, cfg, skipped_here))
        all_rows.extend(rows)
        n_cells += len(layers) * len(langs)
        n_reused += reused
        if skipped is not None:
            skipped.extend({"model": store.model, **s} for s in skipped_here)
    if stats is not None:
        stats.update(cells=n_cells, reused=n_reused)
    return pd.DataFrame(all_rows, columns=list(COLUMNS))


def _all_skipped_message(store: Any, cfg: TrainConfig, skipped: list[dict[str, Any]]) -> str:
    import re

    sizes = [int(m.group(1)) for s in skipped if (m := re.match(r"(\d+) labelled training words", s["reason"]))]
    biggest = f"; the largest has {max(sizes)} labelled training words" if sizes else ""
    return (f"No probe can be trained on store {str(store.path)!r}: all {len(skipped)} (language, task) cells have "
            f"too little data (fewer than --min-examples={cfg.min_examples} labelled training words, or a single "
            f"class){biggest}. Lower --min-examples, add sentences (re-extract without --limit) or choose other "
            "--tasks.")


# --------------------------------------------------------------------------- CLI
