"""Train probes over a whole (language x layer x task) grid: ``python -m probes.train``.

Reads an activation store (``python -m probes.extract``), turns its word index
into labels with the probe tasks of :mod:`probes.probing`, and fits, for every
language and layer, all tasks' probes on the same standardised features in
one solver call (:mod:`probes.probing`). Writes one tidy table
``probes.parquet`` / ``probes.csv`` with columns

    model, layer, lang, task, probe, metric, value, n_train, n_test, train_lang, test_lang

plus ``config.yaml`` (the resolved config), ``skipped.csv`` (language/task
cells without enough data) and figures (``figures/``). See docs/probes.md.

Example::

    python -m probes.train --activations runs/pud-e5 --tasks upos,deprel,morph:all \\
        --layers all --probe linear --control --mdl --cross-lingual

The engine lives in :mod:`probes.probing` (:class:`~probes.probing.TrainConfig`,
:func:`~probes.probing.train_grid`); this module is the command line, generated
from :class:`TrainConfig` (:func:`crossling.cli.config_parser`): every field is a
flag, plus the shared ``--config``, ``--set KEY=VALUE``, ``--dry-run`` (print the
resolved config and the grid of cells, write nothing), ``--quiet`` and ``--debug``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from crossling.cli import (
    SuiteArgumentParser,
    config_parser,
    parse_command,
    print_dry_run,
    run_main,
)
from crossling.config import save_config
from crossling.io import remove_stale_temps
from probes.probing._cell import _cell_input, _local_y
from probes.probing._config import COLUMNS, PROBES, TrainConfig, split_of
from probes.probing._grid import _lang_cell, _prepare, train_grid

__all__ = [
    "TrainConfig",
    "COLUMNS",
    "PROBES",
    "split_of",
    "train_grid",
    "build_parser",
    "parse_config",
    "main",
]

# kept importable from here for scripts written before 0.2 (bench/)
_ENGINE = (_cell_input, _local_y, _lang_cell, _prepare)

PROG = "python -m probes.train"
DESCRIPTION = "Train probes over a language x layer x task grid of an activation store."



def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`TrainConfig` (:func:`crossling.cli.config_parser`)."""
    return config_parser(TrainConfig, prog=PROG, description=DESCRIPTION)


def parse_config(argv: Sequence[str] | None) -> tuple[TrainConfig, Any]:
    """The validated, resolved config of a command line, and the parsed namespace."""
    return parse_command(TrainConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())


def plan(cfg: TrainConfig) -> list[str]:
    """What a run of ``cfg`` would compute: one line per store (read, never written)."""
    from crossling.layers import parse_layers
    from probes.extraction.store import ActivationStore

    out = []
    for path in [cfg.activations, *([cfg.random_activations] if cfg.random_activations else [])]:
        store = ActivationStore(path)
        langs = store.resolve_groups(cfg.langs) if cfg.langs else store.languages
        layers = parse_layers(cfg.layers, max(store.layers)) if cfg.layers != "all" else store.layers
        out.append(f"store {path} ({store.model}): {len(langs)} languages x {len(layers)} layers = "
                   f"{len(langs) * len(layers)} cells; languages {','.join(langs)}; layers "
                   f"{','.join(map(str, layers))}")
    out.append(f"tasks {','.join(cfg.tasks)}; probes {','.join(cfg.probe)}"
               + "".join(f"; {k}" for k in ("control", "mdl", "cross_lingual") if getattr(cfg, k))
               + f"; backend {cfg.backend}; output {cfg.out}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m probes.train``."""
    from crossling.io import DirLock
    from crossling.tables import write_table
    from probes.extraction.store import ActivationStore

    cfg, args = parse_config(argv)
    ActivationStore(cfg.activations)  # fail on a missing store before creating anything inside it
    if cfg.random_activations:
        ActivationStore(cfg.random_activations)
    if args.dry_run:
        return print_dry_run(cfg, plan(cfg))
    out = Path(str(cfg.out))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with DirLock(out):
        remove_stale_temps(out, ["cells", "figures"])
        skipped: list[dict[str, Any]] = []
        stats: dict[str, int] = {}
        df = train_grid(cfg, progress=cfg.progress, skipped=skipped, out=out, stats=stats)
        write_table(df, out / "probes")
        write_table(pd.DataFrame(skipped, columns=["model", "lang", "task", "reason"]), out / "skipped")
        save_config(cfg, out / "config.yaml")
        figs: list[Path] = []
        if cfg.figures and len(df):
            from probes.probing._figures import draw_all

            figs = draw_all(df, out / "figures")
    n_cells = df.groupby(["model", "layer", "lang"]).ngroups if len(df) else 0
    print(f"wrote {out / 'probes.parquet'} ({len(df)} rows, {n_cells} model/layer/language cells, "
          f"{stats.get('reused', 0)} of them reused from an earlier run, {time.time() - t0:.1f}s); "
          f"{len(skipped)} (language, task) cells skipped (see skipped.csv); "
          f"{len(figs)} figures in {out / 'figures'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
