"""The extraction engine: sentences in, an activation store out, shard by shard.

:func:`extract_sentences` is the Python API (a loaded model or a model spec,
and ``{group: [Sentence, ...]}``). Work is streamed to disk shard by shard (a
shard is ``shard_size`` consecutive sentences of one group), each shard written
atomically with checksums; a run killed at any moment resumes from its finished
shards when rerun, and produces arrays identical to an uninterrupted run. A
finished store is reused without loading the model unless ``overwrite`` is
given. The store layout is :mod:`probes.extraction.store`'s.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
from crossling.types import Sentence
from probes.extraction.store import MANIFEST, STORE_FORMAT, ActivationStore

__all__ = ["extract_sentences", "CODE_VERSION"]

#: Version of the extraction code, recorded in every store manifest (changes when stored vectors would).
CODE_VERSION = "0.1.0"

_PLAN_KEYS = ("model", "layers", "pool", "dtype", "store_dtype", "final_norm", "prefix", "max_length", "seed",
              "corpus")


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

        from crossling.layers import layer_names, parse_layers
        from probes.extraction.encode import Encoder, tokenize_sentences

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
    from probes.models import LoadedModel, known_num_layers, load_model

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

