"""The ``download`` and ``list`` commands as functions: :func:`download`, :func:`list_data`."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from crossling.config import Interval
from crossling.errors import ConfigError, DataError
from crossling.io import (
    DirLock,
    atomic_write_json,
    sha256_file,
)
from crossling.languages import find_language, get_language
from crossling.paths import resolve_data_dir
from probes.datasets._fetch import _CACHE, MANIFEST, Source, _now, fetch
from probes.datasets._resources import (
    PANX_MANUAL_URL,
    RESOURCES,
    TATOEBA_CODES,
    XtremePanx,
    _Context,
)

__all__ = ["DownloadConfig", "DownloadReport", "ListConfig", "download", "list_data"]


# --------------------------------------------------------------------------- the download command


@dataclass
class DownloadConfig:
    """Options of ``python -m probes.data download``.

    Attributes
    ----------
    what : list of str
        Resource names (see :data:`RESOURCES`), or ``["all"]``.
    out : str
        Output data directory (the layout of docs/data.md is created in it).
    langs : list of str
        Languages (any spelling); empty: each resource's defaults.
    base_url : str
        Mirror serving ``<base_url>/<source key>`` for every source; empty: upstream.
    ud_ref : str
        Git branch or tag of the UD repositories (``master``, or a release tag
        such as ``r2.13`` for reproducibility).
    panx_archive : str
        Local path of XTREME's ``AmazonPhotos.zip`` (PAN-X).
    force : bool
        Re-download and re-install even if the manifest says it is done
        (``--overwrite`` is the same flag).
    timeout : float
        Network timeout in seconds.
    quiet : bool
        No progress lines on stderr.
    """

    what: list[str] = field(default_factory=list)
    out: str = ""
    langs: list[str] = field(default_factory=list)
    base_url: str = ""
    ud_ref: str = "master"
    panx_archive: str = ""
    force: bool = False
    timeout: float = 60.0
    quiet: bool = False

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "timeout": [Interval("real", 0, None, closed="neither", meaning="seconds")],
    }

    def validate(self) -> None:
        if not self.what:
            raise ConfigError(f"--what names no resource. Choose from: {', '.join(RESOURCES.names())} (or all).")
        names = RESOURCES.names() if self.what == ["all"] else self.what
        for name in names:
            RESOURCES.get(name)  # raises ConfigError with suggestions
        self.what = list(dict.fromkeys(names))
        if not self.out:
            raise ConfigError("--out is required: the directory to download into.")
        if self.base_url and urllib.parse.urlsplit(self.base_url).scheme not in ("http", "https", "file"):
            raise ConfigError(f"--base-url must start with http://, https:// or file://, got {self.base_url!r}.")
        if self.timeout <= 0:
            raise ConfigError(f"--timeout must be positive, got {self.timeout}.")
        if self.panx_archive and not Path(self.panx_archive).is_file():
            raise ConfigError(f"--panx-archive {self.panx_archive!r} is not a file. Download AmazonPhotos.zip "
                              f"from {PANX_MANUAL_URL} first.")
        if not re.fullmatch(r"[A-Za-z0-9._/-]+", self.ud_ref):
            raise ConfigError(f"--ud-ref must be a git branch or tag name, got {self.ud_ref!r}.")


@dataclass
class DownloadReport:
    """What :func:`download` did, per resource."""

    installed: dict[str, list[str]] = field(default_factory=dict)
    skipped_langs: dict[str, list[str]] = field(default_factory=dict)
    up_to_date: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)


@dataclass
class ListConfig:
    """Options of ``python -m probes.data list``.

    Attributes
    ----------
    data_dir : str or None
        Data directory to list; default ``$CROSSLING_DATA`` or ``../shared/data``.
    files : bool
        One line per file instead of a summary per resource and split.
    """

    data_dir: str | None = None
    files: bool = False

    def resolved(self) -> ListConfig:
        """This config with the default data directory filled in."""
        return dataclasses.replace(self, data_dir=str(resolve_data_dir(self.data_dir)))


def _load_manifest(out: Path) -> dict[str, Any]:
    path = out / MANIFEST
    if not path.is_file():
        return {"version": 1, "sources": {}, "resources": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"Download manifest is unreadable ({exc}); delete it to start over.", path=path) from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise DataError("Download manifest has an unexpected structure; delete it to start over.", path=path)
    data.setdefault("resources", {})
    return data


def _source_url(src: Source, cfg: DownloadConfig) -> str | None:
    if cfg.base_url:
        return cfg.base_url.rstrip("/") + "/" + urllib.parse.quote(src.key)
    return src.url


def _outputs_intact(out: Path, entry: dict[str, Any]) -> bool:
    outputs = entry.get("outputs") or {}
    if not outputs:
        return False
    for rel, digest in outputs.items():
        p = out / rel
        if not p.is_file() or sha256_file(p) != digest:
            return False
    return True


def download(cfg: DownloadConfig, log: IO[str] | None = None) -> DownloadReport:
    """Fetch and install the resources of ``cfg`` (see :class:`DownloadConfig`).

    Idempotent and resumable: a resource whose installed files still match
    the manifest is skipped; cached downloads are reused after their
    checksum is verified; a partial download resumes.

    Returns
    -------
    DownloadReport

    Raises
    ------
    ConfigError, DataError, ResourceError, LockError
    """
    out = Path(cfg.out)
    report = DownloadReport()
    requested = [str(x) for x in cfg.langs] if cfg.langs else None
    if requested is not None:
        for code in requested:  # every code must be a language somebody knows
            if find_language(code) is None and code not in TATOEBA_CODES:
                get_language(code)
    out.mkdir(parents=True, exist_ok=True)
    with DirLock(out):
        manifest = _load_manifest(out)
        for name in cfg.what:
            res = RESOURCES.get(name)
            langs, skipped = res.select_langs(requested)
            if skipped:
                report.skipped_langs[name] = skipped
                if log is not None:
                    print(f"{name}: not available for {', '.join(skipped)}; skipped "
                          f"(available: {', '.join(res.languages)})", file=log)
            if not langs:
                raise ConfigError(f"--langs: {name} covers none of {', '.join(requested or [])}. "
                                  f"Available: {', '.join(res.languages)}.")
            entry = manifest["resources"].get(name, {})
            if (not cfg.force and sorted(entry.get("langs", [])) == sorted(langs)
                    and entry.get("ud_ref", cfg.ud_ref) == cfg.ud_ref and _outputs_intact(out, entry)):
                report.up_to_date.append(name)
                if log is not None:
                    print(f"{name}: up to date ({len(entry['outputs'])} files)", file=log)
                continue
            files: dict[str, Path] = {}
            for src in res.sources(langs, cfg):
                files[src.key] = _obtain(src, cfg, out, manifest, report, log)
            ctx = _Context(out=out, files=files, langs=langs, options=cfg)
            res.install(ctx)
            shutil.rmtree(ctx.staging, ignore_errors=True)
            outputs = {p.relative_to(out).as_posix(): sha256_file(p) for p in ctx.written}
            manifest["resources"][name] = {"langs": langs, "outputs": outputs, "installed_at": _now(),
                                           "sources": sorted(files), "ud_ref": cfg.ud_ref}
            atomic_write_json(out / MANIFEST, manifest)
            report.installed[name] = sorted(outputs)
            if log is not None:
                print(f"{name}: installed {len(outputs)} files", file=log)
    return report


def _obtain(src: Source, cfg: DownloadConfig, out: Path, manifest: dict[str, Any], report: DownloadReport,
            log: IO[str] | None) -> Path:
    """Local path of ``src``: a verified cached copy, a local archive, or a fresh download."""
    if src.key == XtremePanx.key and cfg.panx_archive:
        path = Path(cfg.panx_archive)
        manifest["sources"][src.key] = {"url": path.resolve().as_uri(), "sha256": sha256_file(path),
                                        "bytes": path.stat().st_size, "fetched_at": _now()}
        return path
    url = _source_url(src, cfg)
    if url is None:
        raise ConfigError(
            f"{src.key} cannot be downloaded automatically. Download it by hand from {PANX_MANUAL_URL} "
            "(it saves as AmazonPhotos.zip) and pass --panx-archive PATH, or give --base-url of a mirror "
            f"that serves {src.key}.")
    dest = out / _CACHE / src.key
    known = manifest["sources"].get(src.key)
    if dest.is_file() and not cfg.force and known and known.get("url") == url:
        digest = sha256_file(dest)
        if digest == known.get("sha256") and (src.sha256 is None or src.sha256 == digest):
            report.cached.append(src.key)
            return dest
    if cfg.force:
        dest.unlink(missing_ok=True)
        dest.with_name(dest.name + ".part").unlink(missing_ok=True)
    res = fetch(url, dest, sha256=src.sha256, timeout=cfg.timeout, log=log)
    manifest["sources"][src.key] = {"url": url, "sha256": res.sha256, "bytes": res.bytes,
                                    "published_sha256": src.sha256 is not None, "fetched_at": _now()}
    atomic_write_json(out / MANIFEST, manifest)
    report.fetched.append(src.key)
    return dest


# --------------------------------------------------------------------------- listing what is present


def list_data(data_dir: str | Path) -> list[dict[str, Any]]:
    """One row per data file present: resource, lang, split, path (relative), bytes.

    Recognises the layout of docs/data.md: UD treebanks, the XTREME tasks,
    and the typology files.
    """
    from probes.readers.xtreme import TASKS, available, xtreme_path

    root = Path(data_dir)
    if not root.is_dir():
        raise DataError("Data directory does not exist. Pass --data-dir or set CROSSLING_DATA.", path=root)
    rows: list[dict[str, Any]] = []

    def add(resource: str, lang: str, split: str, path: Path) -> None:
        rel = path.relative_to(root).as_posix() if root in path.parents else str(path)
        rows.append({"resource": resource, "lang": lang, "split": split, "path": rel,
                     "bytes": path.stat().st_size})

    ud = root / "ud"
    if ud.is_dir():
        for path in sorted(ud.glob("UD_*/*.conllu")):
            m = re.match(r"([a-z]{2,3})_([a-z0-9]+)-ud-(train|dev|test)\.conllu\Z", path.name)
            if m:
                known = find_language(m.group(1))
                add(f"ud-{m.group(2)}", known.iso1 if known else m.group(1), m.group(3), path)
    for task in TASKS:
        for lang, split in available(root, task):
            path = xtreme_path(root, task, split, lang)
            add(f"xtreme-{task}", lang, split, path)
            if task == "tatoeba":  # one entry per pair of files
                rows[-1]["bytes"] += path.with_name(path.name.rsplit(".", 1)[0] + ".eng").stat().st_size
    for rel in ("typology/mc4_tokens_billions.csv", "typology/panlex_swadesh.zip"):
        if (root / rel).is_file():
            add("typology", Path(rel).stem, "", root / rel)
    return rows


def _print_listing(rows: list[dict[str, Any]], files: bool, stream: IO[str]) -> None:
    if files:
        for r in rows:
            print(f"{r['resource']:<16} {r['lang']:<5} {r['split']:<6} {r['bytes']:>12,d}  {r['path']}", file=stream)
        return
    groups: dict[tuple[str, str], list[str]] = {}
    sizes: dict[str, int] = {}
    for r in rows:
        groups.setdefault((r["resource"], r["split"]), []).append(r["lang"] or "-")
        sizes[r["resource"]] = sizes.get(r["resource"], 0) + r["bytes"]
    print(f"{'resource':<16} {'split':<6} {'n':>4}  languages", file=stream)
    for (res, split), langs in sorted(groups.items()):
        shown = " ".join(sorted(langs))
        if len(shown) > 100:
            shown = shown[:97] + "..."
        print(f"{res:<16} {split or '-':<6} {len(langs):>4}  {shown}", file=stream)
    total = sum(sizes.values())
    print(f"{len(rows)} entries (a Tatoeba entry is a pair of files), {total / 1e6:.1f} MB", file=stream)
