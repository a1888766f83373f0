"""The activation store: hidden states of every layer, on disk, memory-mapped.

Layout of a store directory (see also docs/design.md)::

    manifest.json                          written last: its presence = complete
    index/<group>.words.parquet            one row per word
    index/<group>.sentences.parquet        one row per sentence
    arrays/<group>/words.L<layer>.npy      (n_words, dim)     float32 or float16
    arrays/<group>/sentences.L<layer>.npy  (n_sentences, dim)
    .work/                                 shards of an unfinished run (resumable)
    .lock                                  pid of a process writing the store

Word index columns: ``row, sentence_id, word_index (0-based), form, upos, feats
("A=B|C=D"), head (1-based, 0 = root, -1 = unknown), deprel, tag, tok_start,
tok_end`` (token positions in the model input, end exclusive, -1 when the word
was cut by truncation) and ``in_window`` (False for such words; their vector is
zero and must not be used). Sentence index columns: ``row, sentence_id,
n_words, n_tokens, truncated, label, text``.

The manifest records the model (spec, weights hash or revision, tokenizer,
architecture), prefix, pooling, compute and storage dtypes, layers and their
names, the corpus and its fingerprint, the code version, the resolved config,
and the SHA-256 of every array and index file. Reading verifies the checksum
of each file on first use: a truncated or bit-flipped file raises
:class:`~crossling.errors.StoreError` naming it instead of being read as data.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossling.errors import ConfigError, StoreError, short_repr, suggest
from crossling.io import sha256_file

__all__ = ["ActivationStore", "MANIFEST", "STORE_FORMAT", "check_manifest"]

#: File name of a store's manifest (model, corpus, layers, checksums).
MANIFEST = "manifest.json"
#: Version of the on-disk store layout; a store of another format is refused.
STORE_FORMAT = 1


#: Required manifest keys and the JSON types their values must have.
_MANIFEST_KEYS: dict[str, tuple[type, ...]] = {
    "format": (int,), "model": (dict,), "groups": (list,), "layers": (list,), "dim": (int,),
    "checksums": (dict,),
}


def check_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """Validate the structure of a store manifest (types, required keys); return it.

    Raises
    ------
    StoreError
        Naming the manifest file and the first problem.
    """
    where = str(path)

    def bad(what: str) -> StoreError:
        return StoreError(f"{where!r} is not a valid store manifest: {what}. The store is corrupt: re-extract "
                          "with --overwrite.")

    if not isinstance(manifest, dict):
        raise bad(f"it holds a JSON {type(manifest).__name__}, not an object")
    if manifest.get("format") != STORE_FORMAT:
        raise StoreError(f"{where!r} has store format {short_repr(manifest.get('format'))}, this suite reads "
                         f"{STORE_FORMAT}.")
    for key, types in _MANIFEST_KEYS.items():
        if key not in manifest:
            raise bad(f"the key {key!r} is missing")
        v = manifest[key]
        if not isinstance(v, types) or isinstance(v, bool):
            raise bad(f"{key!r} is a {type(v).__name__}, expected {' or '.join(t.__name__ for t in types)}")
    if not isinstance(manifest["model"].get("name"), str):
        raise bad("'model' has no 'name' string")
    if not all(isinstance(g, str) and g and "/" not in g and not g.startswith(".") for g in manifest["groups"]):
        raise bad(f"'groups' must be file-safe names, got {short_repr(manifest['groups'])}")
    if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in manifest["layers"]):
        raise bad(f"'layers' must be non-negative integers, got {short_repr(manifest['layers'])}")
    if manifest["dim"] < 1:
        raise bad(f"'dim' must be positive, got {manifest['dim']}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in manifest["checksums"].items()):
        raise bad("'checksums' must map file names to hex strings")
    if not isinstance(manifest.get("summary", []), list) or not isinstance(manifest.get("layer_names", {}), dict):
        raise bad("'summary' must be a list and 'layer_names' an object")
    return manifest


class ActivationStore:
    """Read-only access to a finished extraction.

    Parameters
    ----------
    path : str or Path
        The store directory (``--out`` of ``python -m probes.extract``).
    verify : bool, default=True
        Check each file's SHA-256 against the manifest on first access.

    Examples
    --------
    >>> # st = ActivationStore("runs/sample-e5")
    >>> # X = st.words("de", 6)             # (n_words, 384) memory-mapped
    >>> # idx = st.word_index("de")          # labels of those rows
    """

    def __init__(self, path: str | Path, *, verify: bool = True):
        self.path = Path(path)
        mf = self.path / MANIFEST
        if not self.path.is_dir():
            raise StoreError(f"Activation store {str(self.path)!r} does not exist. Run python -m probes.extract --out {self.path} first.")
        if not mf.is_file():
            hint = " (an extraction is unfinished there: rerun the same extract command to resume)" if (self.path / ".work").exists() else ""
            raise StoreError(f"{str(self.path)!r} is not a finished activation store: no {MANIFEST}{hint}.")
        try:
            manifest = json.loads(mf.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreError(f"{str(mf)!r} is not valid JSON ({short_repr(str(exc))}); the store is corrupt: "
                             "re-extract with --overwrite.") from None
        except OSError as exc:
            raise StoreError(f"{str(mf)!r} cannot be read ({exc.strerror or exc}).") from None
        self.manifest: dict[str, Any] = check_manifest(manifest, mf)
        self.verify = verify
        self._verified: set[str] = set()

    def resolve_groups(self, names: Any, param: str = "langs") -> list[str]:
        """The store's group names for ``names`` given in any spelling (``EN``, ``eng`` -> ``en``).

        Every command that takes languages of a store goes through this, so
        that a language code means the same in every command
        (:func:`crossling.languages.canonical_code`).

        Raises
        ------
        ConfigError
            For a name that is not a group of the store (closest suggested).
        """
        from crossling.config import split_list
        from crossling.languages import canonical_code

        out: list[str] = []
        for name in split_list(names):
            g = name
            if g not in self.manifest["groups"]:
                try:
                    g = canonical_code(name, param=param)
                except ConfigError:
                    g = name
            self.check(g)
            if g in out:
                raise ConfigError(f"The {param!r} parameter names language {g!r} twice; give each once.")
            out.append(g)
        return out

    # -- metadata ---------------------------------------------------------
    @property
    def model(self) -> str:
        """The model spec that produced the store (label every result with it)."""
        return str(self.manifest["model"]["name"])

    @property
    def groups(self) -> list[str]:
        """Group names (language codes for a corpus), sorted."""
        return sorted(self.manifest["groups"])

    @property
    def languages(self) -> list[str]:
        """Alias of :attr:`groups` for corpora keyed by language."""
        return self.groups

    @property
    def layers(self) -> list[int]:
        return [int(x) for x in self.manifest["layers"]]

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @property
    def layer_names(self) -> dict[int, str]:
        return {int(k): v for k, v in self.manifest.get("layer_names", {}).items()}

    def check(self, group: str | None = None, layer: int | None = None) -> None:
        """Raise a :class:`ConfigError` for an unknown group or layer."""
        if group is not None and group not in self.manifest["groups"]:
            raise ConfigError(
                f"Language/group {short_repr(group)} is not in store {str(self.path)!r}.{suggest(group, self.groups)} "
                f"It has: {', '.join(self.groups)}."
            )
        if layer is not None and int(layer) not in self.layers:
            raise ConfigError(
                f"Layer {layer!r} is not in store {str(self.path)!r}; it has layers {self.layers}. "
                "Re-extract with --layer all (or the layers you need)."
            )

    # -- files ---------------------------------------------------------------
    def _file(self, rel: str) -> Path:
        p = self.path / rel
        sums = self.manifest.get("checksums", {})
        if not p.is_file():
            raise StoreError(f"Store file {str(p)!r} is missing; the store is incomplete: re-extract with --overwrite.")
        if self.verify and rel not in self._verified:
            want = sums.get(rel)
            if want is None:
                raise StoreError(f"Store file {str(p)!r} has no checksum in the manifest; refusing to read it.")
            got = sha256_file(p)
            if got != want:
                raise StoreError(
                    f"Store file {str(p)!r} is corrupt (SHA-256 {got[:12]}... does not match the manifest's "
                    f"{want[:12]}...): it was truncated or modified. Re-extract with --overwrite."
                )
            self._verified.add(rel)
        return p

    def _rows(self, group: str, kind: str) -> int | None:
        """Rows the manifest's summary promises for ``group`` (``words`` / ``sentences``), if it says."""
        for row in self.manifest.get("summary", []):
            if isinstance(row, dict) and row.get("language") == group and isinstance(row.get(kind), int):
                return int(row[kind])
        return None

    def _array(self, rel: str, group: str, kind: str) -> np.ndarray:
        p = self._file(rel)
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise StoreError(f"Cannot read array {str(p)!r}: {short_repr(str(exc))}. Re-extract with --overwrite.") from None
        want = self._rows(group, kind)
        if arr.ndim != 2 or arr.shape[1] != self.dim or (want is not None and arr.shape[0] != want):
            raise StoreError(
                f"Array {str(p)!r} has shape {arr.shape}, but the manifest describes ({want}, {self.dim}) for "
                f"{kind} of {group!r}: the store is inconsistent. Re-extract with --overwrite.")
        return arr

    def words(self, group: str, layer: int) -> np.ndarray:
        """Word vectors of ``group`` at ``layer``, shape ``(n_words, dim)``, memory-mapped."""
        self.check(group, layer)
        return self._array(f"arrays/{group}/words.L{int(layer)}.npy", group, "words")

    def sentences(self, group: str, layer: int) -> np.ndarray:
        """Sentence vectors (mean over words), shape ``(n_sentences, dim)``, memory-mapped."""
        self.check(group, layer)
        return self._array(f"arrays/{group}/sentences.L{int(layer)}.npy", group, "sentences")

    def _table(self, rel: str, group: str, kind: str) -> pd.DataFrame:
        p = self._file(rel)
        try:
            df = pd.read_parquet(p)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
            raise StoreError(f"Cannot read index table {str(p)!r}: {short_repr(str(exc))}. "
                             "Re-extract with --overwrite.") from None
        want = self._rows(group, kind)
        if want is not None and len(df) != want:
            raise StoreError(f"Index table {str(p)!r} has {len(df)} rows, the manifest says {want} {kind} for "
                             f"{group!r}: the store is inconsistent. Re-extract with --overwrite.")
        return df

    def word_index(self, group: str) -> pd.DataFrame:
        """The word index table of ``group`` (one row per row of :meth:`words`)."""
        self.check(group)
        return self._table(f"index/{group}.words.parquet", group, "words")

    def sentence_index(self, group: str) -> pd.DataFrame:
        """The sentence index table of ``group`` (one row per row of :meth:`sentences`)."""
        self.check(group)
        return self._table(f"index/{group}.sentences.parquet", group, "sentences")

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Per-group summary (language, sentences, words, tokens, truncated, seconds)."""
        cols = ["language", "sentences", "words", "tokens", "truncated", "seconds"]
        return pd.DataFrame(self.manifest.get("summary", []), columns=cols)

    def __repr__(self) -> str:
        return f"ActivationStore({str(self.path)!r}, model={self.model!r}, groups={self.groups}, layers={self.layers})"
