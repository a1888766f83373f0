"""Finished cells of a probe grid on disk (:class:`_Cells`), so that a killed run resumes where it stopped."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from crossling.errors import StoreError
from crossling.io import atomic_save, atomic_write_text, sha256_file

__all__: list[str] = []


class _Cells:
    """Finished cells of a grid on disk, so that a killed run resumes where it stopped.

    One JSON file per (layer, language) cell - its result rows and a SHA-256
    of them - under ``<out>/cells/<plan>/<store>/``, where ``<plan>`` hashes
    every setting that changes results and ``<store>`` the store's
    fingerprint (model, corpus hash, extraction plan, creation time): a rerun
    with other settings or another store never reuses a cell. The linear
    probe of a cell (standardiser and weights, for cross-lingual transfer
    and later use) goes beside it as ``.npz``, its SHA-256 recorded in the
    JSON. Files are written atomically (temp file + rename); a file whose
    checksum does not match is reported by name, never read as data.
    """

    def __init__(self, out: Path, plan: str, store: Any):
        fp = {"model": store.model, "corpus": store.manifest.get("corpus", {}).get("hash"),
              "plan": store.manifest.get("plan"), "created": store.manifest.get("created"),
              "prefix": store.manifest.get("prefix")}
        tag = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]
        self.dir = out / "cells" / plan / tag

    def _json(self, layer: int, lang: str) -> Path:
        return self.dir / f"L{layer:03d}.{lang}.json"

    def _npz(self, layer: int, lang: str) -> Path:
        return self.dir / f"L{layer:03d}.{lang}.npz"

    @staticmethod
    def _digest(rows: list[list[Any]]) -> str:
        return hashlib.sha256(json.dumps(rows, allow_nan=True).encode()).hexdigest()

    def exists(self, layer: int, lang: str) -> bool:
        """Whether the cell's file is on disk (:meth:`load` still checks it)."""
        return self._json(layer, lang).is_file()

    def load(self, layer: int, lang: str, *, with_probe: bool = False
             ) -> tuple[list[tuple[Any, ...]], dict[str, np.ndarray] | None] | None:
        """A finished cell's rows and (with ``with_probe``) its saved linear probe; None if not on disk.

        Both are verified against their SHA-256 (the probe's is recorded in the cell file).
        """
        p = self._json(layer, lang)
        if not p.is_file():
            return None
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            rows, digest = doc["rows"], doc["sha256"]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise StoreError(f"Probe cell file {str(p)!r} is unreadable ({type(exc).__name__}: {exc}); delete it "
                             "and rerun to recompute that cell.") from None
        if self._digest(rows) != digest:
            raise StoreError(f"Probe cell file {str(p)!r} fails its SHA-256 check (the file was changed or "
                             "damaged); delete it and rerun to recompute that cell.")
        probe = None
        want = doc.get("probe_sha256")
        if with_probe and want:
            q = self._npz(layer, lang)
            if not q.is_file() or sha256_file(q) != want:
                raise StoreError(f"Probe weights {str(q)!r} are missing or fail their SHA-256 check; delete "
                                 f"{str(p)!r} and rerun to recompute that cell.")
            with np.load(q, allow_pickle=False) as z:
                probe = {k: z[k] for k in z.files}
        return [tuple(r) for r in rows], probe

    def save(self, layer: int, lang: str, rows: list[tuple[Any, ...]], probe: dict[str, np.ndarray] | None) -> None:
        doc: dict[str, Any] = {"layer": layer, "lang": lang}
        if probe is not None:
            q = self._npz(layer, lang)
            def write(tmp: str) -> None:
                with open(tmp, "wb") as fh:
                    np.savez(fh, **probe)

            atomic_save(q, write)
            doc["probe_sha256"] = sha256_file(q)
        doc["rows"] = [list(r) for r in rows]
        doc["sha256"] = self._digest(doc["rows"])
        atomic_write_text(self._json(layer, lang), json.dumps(doc, allow_nan=True) + "\n")


#: Settings that change a cell's results (the plan key of :class:`_Cells`).
_PLAN_FIELDS = ("tasks", "probe", "control", "mdl", "cross_lingual", "C", "alphas", "split", "seed", "min_examples",
                "morph_missing", "max_iter", "tol", "mlp_hidden", "mlp_epochs", "arc_rank", "arc_steps")


def _plan_key(cfg: Any, langs: list[str]) -> str:
    doc = {k: getattr(cfg, k) for k in _PLAN_FIELDS}
    doc["langs"] = list(langs)
    doc["version"] = _CELL_FORMAT
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


#: Bumped whenever the solver or the cell layout changes what a cell contains.
_CELL_FORMAT = 3
