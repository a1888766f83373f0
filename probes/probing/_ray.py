"""Probe cells on Ray (``python -m probes.train --backend ray``).

One Ray task per (language, layer) cell: it opens the store, fits every probe
of the cell with the same code as a local run (:func:`probes.probing._grid._lang_cell`),
saves the cell into ``<out>/cells`` (so a rerun reuses it, whoever computed it)
and returns its rows and linear probe to the driver. The driver then builds
the table, and the cross-lingual and pooled per-layer cells, exactly as after
a local run, so the table is identical to a local run's. A task whose worker
died is rerun by Ray up to :data:`MAX_RETRIES` times; a cell that still fails
(or raises) fails the run after every other cell has finished and been saved,
and rerunning the same command computes only the missing cells.
"""

from __future__ import annotations

import sys
from typing import Any

from crossling.errors import SuiteError

__all__ = ["cells_on_ray"]

#: Reruns of a cell whose worker died (a Python error in the cell is not retried).
MAX_RETRIES = 2


def _cell_task(cfg: Any, ld: Any, layer: int, groups: dict[str, list[str]],
               cells: Any) -> tuple[list[tuple[Any, ...]], dict[str, Any] | None]:
    """Fit one (language, layer) cell in a worker; save it when the grid has a cell directory."""
    from probes.probing._grid import _lang_cell
    from probes.probing._threads import _single_blas
    from probes.extraction.store import ActivationStore

    if cfg.threads:
        import torch

        torch.set_num_threads(int(cfg.threads))
    store = ActivationStore(cfg.activations)
    with _single_blas():
        rows, saved, _ = _lang_cell(store, cfg, ld, layer, groups)
    if cells is not None:
        cells.save(layer, ld.lang, rows, saved)
    return rows, saved


def cells_on_ray(store: Any, cfg: Any, todo: list[tuple[int, str]], lds: dict[str, Any],
                 groups: dict[str, list[str]], cells: Any, progress: bool
                 ) -> dict[tuple[int, str], tuple[list[tuple[Any, ...]], dict[str, Any] | None]]:
    """Compute the ``(layer, language)`` cells of ``todo`` as Ray tasks; their rows and probes by cell."""
    from dataclasses import replace

    from tqdm import tqdm

    from crossling._ray import ray_session

    out: dict[tuple[int, str], tuple[list[tuple[Any, ...]], dict[str, Any] | None]] = {}
    if not todo:
        return out
    wcfg = replace(cfg, activations=str(store.path))  # the store this grid reads (main or random control)
    failed: list[str] = []
    bar = tqdm(total=len(todo), desc=f"probes {store.model} on Ray", unit="cell", disable=not progress,
               file=sys.stderr)
    with ray_session(cfg.workers, cfg.ray_address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_cell_task)
        shared = {lang: ray.put(lds[lang]) for lang in {lang for _, lang in todo}}
        refs = {remote.remote(wcfg, shared[lang], layer, groups, cells): (layer, lang) for layer, lang in todo}
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    layer, lang = refs.pop(ref)
                    try:
                        out[(layer, lang)] = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - a failed cell fails the run after the others
                        failed.append(f"{lang} layer {layer}: {type(exc).__name__}: {str(exc).splitlines()[-1]}")
                    bar.update(1)
        finally:
            bar.close()
    if failed:
        raise SuiteError(f"{len(failed)} of {len(todo)} probe cell(s) failed on Ray ({failed[0]}"
                         f"{'; ...' if len(failed) > 1 else ''}). The other cells are saved; rerun the same command "
                         "to compute only the missing ones.")
    return out
