"""The grid of transfer cells, their content hashes, and the on-disk cell store.

A *cell* is one (task, src, tgt, k, seed) under one :class:`RunSpec` (model,
regime, layer, head, sizes, split seed, feature fingerprint). Its content hash
is the SHA-256 of the canonical JSON of both: change anything that affects the
result and the hash changes; rerun the same grid and every finished cell is
found and skipped.

Cells of the same (task, src, seed) form a :class:`Batch`, the unit of
scheduling: the source model is trained once per batch and reused for every
target and shot size.

:class:`CellStore` keeps one JSON file per finished cell
(``cells/<hh>/<hash>.json``, written atomically) and one per failed cell
(``failures/<hash>.json``, with the error message; retried on the next run).
A process killed at any moment leaves finished cells intact and no partial
file, so a rerun resumes with nothing lost or duplicated. Each cell file
carries ``checksum``, the SHA-256 of its canonical JSON payload
(:func:`cell_checksum`), verified on every read: a file changed after it was
written (a flipped digit that keeps the JSON valid) is a
:class:`~crossling.errors.StoreError` naming the file, never data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crossling.errors import StoreError
from crossling.io import atomic_write_json

__all__ = ["CELL_FORMAT", "RunSpec", "Cell", "Batch", "CellStore", "cell_checksum", "make_grid", "group_batches"]

#: Bumped when the meaning of a cell's result changes (invalidates old cells).
CELL_FORMAT = "transfer-cell-v1"


@dataclass(frozen=True)
class RunSpec:
    """Everything besides (task, src, tgt, k, seed) that determines a cell's result."""

    model: str
    regime: str
    layer: str
    head: str = "ridge"
    head_params: dict[str, Any] = field(default_factory=dict)
    n_src: dict[str, int] = field(default_factory=dict)
    split_seed: int = 0
    features: str = ""
    finetune: dict[str, Any] = field(default_factory=dict)
    #: Metrics scored besides each task's own (empty: left out of the key, so older cell hashes still match).
    metrics: tuple[str, ...] = ()

    def key(self) -> dict[str, Any]:
        d = asdict(self)
        if not d["metrics"]:
            del d["metrics"]
        else:
            d["metrics"] = list(d["metrics"])
        return {"format": CELL_FORMAT, **d}


@dataclass(frozen=True)
class Cell:
    """One (task, src, tgt, k, seed) of the grid."""

    task: str
    src: str
    tgt: str
    k: int
    seed: int

    def hash(self, spec: RunSpec) -> str:
        """Content hash of this cell under ``spec`` (hex, 64 chars)."""
        blob = json.dumps({"cell": asdict(self), "spec": spec.key()}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Batch:
    """Cells sharing (task, src, seed): one source model, many targets and shot sizes."""

    task: str
    src: str
    seed: int
    cells: list[tuple[Cell, str]]
    spec: RunSpec
    features: Any
    out: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.task}/{self.src}/seed{self.seed}"


def make_grid(tasks: list[str], langs: dict[str, list[str]] | list[str], shots: list[int],
              seeds: list[int], *, targets: dict[str, list[str]] | None = None,
              fewshot_sources: list[str] | None = None) -> list[Cell]:
    """Every (task, src, tgt, k, seed), in a stable order.

    Parameters
    ----------
    tasks : list of str
    langs : list of str or dict task -> list of str
        Languages (sources and targets) per task.
    shots : list of int
    seeds : list of int
    targets : dict, optional
        Targets per task when they differ from the sources.
    fewshot_sources : list of str, optional
        Sources whose k > 0 cells are made; every source keeps its k = 0 cells.
        None: every source.
    """
    out: list[Cell] = []
    for t in tasks:
        src_langs = langs[t] if isinstance(langs, dict) else langs
        tgt_langs = targets[t] if targets else src_langs
        for s in src_langs:
            for seed in seeds:
                for g in tgt_langs:
                    for k in sorted(set(shots)):
                        if k > 0 and fewshot_sources is not None and s not in fewshot_sources:
                            continue
                        out.append(Cell(t, s, g, int(k), int(seed)))
    return out


def group_batches(cells: list[tuple[Cell, str]]) -> dict[tuple[str, str, int], list[tuple[Cell, str]]]:
    """Group (cell, hash) pairs by (task, src, seed), keeping order."""
    groups: dict[tuple[str, str, int], list[tuple[Cell, str]]] = {}
    for c, h in cells:
        groups.setdefault((c.task, c.src, c.seed), []).append((c, h))
    return groups


#: Keys of a cell file (``checksum`` is absent from files written before checksums existed).
_CELL_KEYS = {"hash", "cell", "rows", "seconds", "checksum"}


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cell_checksum(payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of a cell file's payload: every key but ``checksum``, as canonical JSON.

    The payload is normalised through a JSON round trip first, so the
    checksum computed before writing equals the one recomputed from the
    file (tuples become lists, integer keys strings; floats keep their
    shortest repr, which JSON preserves exactly).

    Examples
    --------
    >>> a = cell_checksum({"hash": "ab", "rows": [{"value": 0.5}]})
    >>> a == cell_checksum({"rows": [{"value": 0.5}], "hash": "ab", "checksum": "ignored"})
    True
    >>> a == cell_checksum({"hash": "ab", "rows": [{"value": 0.51}]})
    False
    """
    body = json.loads(_canonical({k: v for k, v in payload.items() if k != "checksum"}))
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


class CellStore:
    """Finished and failed cells of a run directory.

    Parameters
    ----------
    out : path
        The run's output directory.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.cells_dir = self.out / "cells"
        self.fail_dir = self.out / "failures"

    def path(self, h: str) -> Path:
        return self.cells_dir / h[:2] / f"{h}.json"

    def done(self, h: str) -> bool:
        return self.path(h).is_file()

    def done_set(self) -> set[str]:
        """Hashes of every finished cell (one directory listing, no file reads)."""
        if not self.cells_dir.is_dir():
            return set()
        return {p.stem for p in self.cells_dir.glob("*/*.json")}

    def write(self, h: str, cell: Cell, rows: list[dict[str, Any]], seconds: float) -> None:
        """Record a finished cell atomically (with its checksum) and clear a previous failure of it."""
        payload: dict[str, Any] = {"hash": h, "cell": asdict(cell), "rows": rows, "seconds": seconds}
        payload["checksum"] = cell_checksum(payload)
        atomic_write_json(self.path(h), payload)
        try:
            (self.fail_dir / f"{h}.json").unlink()
        except FileNotFoundError:
            pass

    def fail(self, h: str, cell: Cell, error: str) -> None:
        """Record a failed cell with its error message."""
        atomic_write_json(self.fail_dir / f"{h}.json", {"hash": h, "cell": asdict(cell), "error": error})

    def read(self, h: str) -> dict[str, Any]:
        """The finished cell ``h``, verified against its checksum.

        Cell files written before checksums existed (no ``checksum`` key) are
        read unverified, as before.

        Raises
        ------
        StoreError
            If the file is unreadable, not a cell record, belongs to another
            hash, or its checksum does not match its content.
        """
        p = self.path(h)
        fix = "delete it and rerun the same command to recompute that cell"
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"Cell file {str(p)!r} is unreadable ({exc}); {fix}.") from None
        if not isinstance(d, dict) or not isinstance(d.get("rows"), list):
            raise StoreError(f"Cell file {str(p)!r} is not a cell record (no 'rows' list); {fix}.")
        if d.get("hash") != h:
            raise StoreError(f"Cell file {str(p)!r} records hash {d.get('hash')!r}, not the {h!r} of its name; {fix}.")
        extra = sorted(set(d) - _CELL_KEYS)
        if extra:
            raise StoreError(f"Cell file {str(p)!r} has unexpected key(s) {extra} (damaged?); {fix}.")
        if "checksum" in d:
            got = cell_checksum(d)
            if d["checksum"] != got:
                raise StoreError(
                    f"Cell file {str(p)!r} is corrupt: its content no longer matches its checksum "
                    f"(stored {str(d['checksum'])[:12]}..., content {got[:12]}...); {fix}."
                )
        return d

    def failures(self) -> list[dict[str, Any]]:
        if not self.fail_dir.is_dir():
            return []
        out = []
        for p in sorted(self.fail_dir.glob("*.json")):
            try:
                out.append(json.loads(p.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return out
