"""The downloadable resources: one small class per data set, registered in :data:`RESOURCES`.

A resource names its upstream files (:class:`~probes.datasets.Source`) and turns
the fetched files into the documented layout (docs/data.md). Add a data set by
subclassing :class:`Resource` here and decorating it with ``@_register``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from crossling.errors import DataError
from crossling.io import atomic_write_text
from crossling.languages import find_language, get_language
from crossling.registry import Registry
from probes.datasets._fetch import (
    _CACHE,
    Source,
    _check_member_name,
    check_archive,
    extract_archive,
)

if TYPE_CHECKING:
    from probes.datasets._download import DownloadConfig

__all__ = ["RESOURCES", "Resource", "TATOEBA_CODES", "PANX_MANUAL_URL"]


# --------------------------------------------------------------------------- resources


@dataclass
class _Context:
    """What a resource's ``install`` gets: the fetched files, options, and output helpers."""

    out: Path
    files: dict[str, Path]
    langs: list[str]
    options: DownloadConfig
    written: list[Path] = field(default_factory=list)

    @property
    def staging(self) -> Path:
        return self.out / _CACHE / "staging"

    def write_text(self, rel: str, text: str) -> None:
        path = self.out / rel
        atomic_write_text(path, text)
        self.written.append(path)

    def write_tsv(self, rel: str, rows: Iterable[Sequence[str]]) -> int:
        """Write rows as XTREME does (``csv.writer`` with tabs), LF line ends; return the row count."""
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
        n = 0
        for row in rows:
            writer.writerow(row)
            n += 1
        self.write_text(rel, buf.getvalue())
        return n


class Resource:
    """A downloadable data set; subclasses set the class attributes and two methods.

    Attributes
    ----------
    name : str
        Registry name (``"ud-pud"``).
    description : str
        One line for ``--help`` and listings.
    languages : tuple of str
        ISO 639-1 codes (or resource codes) the resource covers.
    defaults : tuple of str or None
        Languages fetched when ``--langs`` is not given (``None``: all).
    """

    name = ""
    description = ""
    languages: tuple[str, ...] = ()
    defaults: tuple[str, ...] | None = None

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        """Upstream files needed for ``langs``."""
        raise NotImplementedError

    def install(self, ctx: _Context) -> None:
        """Turn ``ctx.files`` (key -> local path) into the layout under ``ctx.out``."""
        raise NotImplementedError

    def select_langs(self, requested: list[str] | None) -> tuple[list[str], list[str]]:
        """``(chosen, skipped)`` languages; ``requested=None`` gives the defaults."""
        if requested is None:
            return list(self.defaults if self.defaults is not None else self.languages), []
        chosen, skipped = [], []
        for code in requested:
            lang = find_language(code)
            key = lang.iso1 if lang is not None and lang.iso1 in self.languages else code
            if key in self.languages:
                if key not in chosen:
                    chosen.append(key)
            else:
                skipped.append(code)
        return chosen, skipped


#: Registry of downloadable resources, by name.
RESOURCES: Registry[Resource] = Registry("download resource")


def _register(cls: type[Resource]) -> type[Resource]:
    RESOURCES.register(cls.name)(cls())
    return cls


def _read_utf8(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"Downloaded file is not UTF-8 (byte offset {exc.start}); it is probably an error "
                        "page. Delete it and download again.", path=path) from None


_PUD = {  # ISO 639-1 -> UD treebank name, for the PUD treebanks
    "ar": "Arabic", "cs": "Czech", "de": "German", "en": "English", "es": "Spanish", "fi": "Finnish",
    "fr": "French", "hi": "Hindi", "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "pl": "Polish", "pt": "Portuguese", "ru": "Russian", "sv": "Swedish", "th": "Thai",
    "tr": "Turkish", "zh": "Chinese",
}


@_register
class UDPud(Resource):
    """Parallel Universal Dependencies treebanks from the UD GitHub repositories."""

    name = "ud-pud"
    description = "UD PUD treebanks (1000 parallel sentences, 20 languages) from github.com/UniversalDependencies"
    languages = tuple(_PUD)
    defaults = ("ar", "cs", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr", "zh")
    base = "https://raw.githubusercontent.com/UniversalDependencies"

    def _files(self, lang: str) -> tuple[str, str]:
        folder = f"UD_{_PUD[lang]}-PUD"
        code = get_language(lang).ud_code or lang
        return folder, f"{code}_pud-ud-test.conllu"

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        out = []
        for lang in langs:
            folder, conllu = self._files(lang)
            for fname in (conllu, "LICENSE.txt"):
                out.append(Source(f"ud/{folder}/{fname}", f"{self.base}/{folder}/{cfg.ud_ref}/{fname}"))
        return out

    def install(self, ctx: _Context) -> None:
        for lang in ctx.langs:
            folder, conllu = self._files(lang)
            key = f"ud/{folder}/{conllu}"
            text = _read_utf8(ctx.files[key])
            if "# sent_id" not in text or "\t" not in text:
                raise DataError("Downloaded file is not a CoNLL-U treebank (no '# sent_id' lines). Delete it "
                                "and download again.", path=ctx.files[key])
            ctx.write_text(key, text)
            ctx.write_text(f"ud/{folder}/LICENSE.txt", _read_utf8(ctx.files[f"ud/{folder}/LICENSE.txt"]))


_XNLI_LANGS = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")


@_register
class XtremeXnli(Resource):
    """XNLI 1.0 dev/test sets converted to XTREME's ``xnli/{dev,test}-<xx>.tsv``."""

    name = "xtreme-xnli"
    description = "XNLI 1.0 dev+test (15 languages) from dl.fbaipublicfiles.com, as xtreme/xnli/<split>-<xx>.tsv"
    languages = _XNLI_LANGS
    url = "https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip"
    key = "xnli/XNLI-1.0.zip"

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        return [Source(self.key, self.url)]

    def install(self, ctx: _Context) -> None:
        archive = ctx.files[self.key]
        members = check_archive(archive)
        for split in ("dev", "test"):
            name = next((m for m in members if m.endswith(f"xnli.{split}.tsv") and "__MACOSX" not in m), None)
            if name is None:
                raise DataError(f"Archive lacks xnli.{split}.tsv; it is not the XNLI-1.0 release.", path=archive)
            (path,) = extract_archive(archive, ctx.staging / "xnli", select=[name], flatten=True)
            lines = _read_utf8(path).split("\n")
            header = lines[0].rstrip("\r").split("\t")
            try:
                col = {k: header.index(k) for k in ("language", "gold_label", "sentence1", "sentence2")}
            except ValueError:
                raise DataError(f"XNLI header lacks language/gold_label/sentence1/sentence2: {header[:8]}",
                                path=path, line=1) from None
            per_lang: dict[str, list[tuple[str, str, str]]] = {}
            for lineno, line in enumerate(lines[1:], 2):
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                items = line.split("\t")
                if len(items) <= max(col.values()):
                    raise DataError(f"Expected at least {max(col.values()) + 1} columns, got {len(items)}.",
                                    path=path, line=lineno)
                label = items[col["gold_label"]].strip()
                label = "contradiction" if label == "contradictory" else label
                per_lang.setdefault(items[col["language"]].strip(), []).append(
                    (items[col["sentence1"]].strip(), items[col["sentence2"]].strip(), label))
            for lang in ctx.langs:
                if lang not in per_lang:
                    raise DataError(f"XNLI {split} has no language {lang!r}.", path=path)
                ctx.write_tsv(f"xtreme/xnli/{split}-{lang}.tsv", per_lang[lang])


_PAWSX_LANGS = ("de", "en", "es", "fr", "ja", "ko", "zh")


@_register
class XtremePawsx(Resource):
    """PAWS-X converted to XTREME's ``pawsx/{train,dev,test}-<xx>.tsv`` (train: English only)."""

    name = "xtreme-pawsx"
    description = "PAWS-X dev+test (7 languages) and English train from storage.googleapis.com/paws"
    languages = _PAWSX_LANGS
    url = "https://storage.googleapis.com/paws/pawsx/x-final.tar.gz"
    key = "pawsx/x-final.tar.gz"

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        return [Source(self.key, self.url)]

    def install(self, ctx: _Context) -> None:
        archive = ctx.files[self.key]
        members = check_archive(archive)
        wanted: dict[str, tuple[str, str]] = {}
        for lang in ctx.langs:
            for split, fname in (("dev", "dev_2k.tsv"), ("test", "test_2k.tsv"), ("train", "train.tsv")):
                if split == "train" and lang != "en":
                    continue
                name = next((m for m in members if m.endswith(f"/{lang}/{fname}")), None)
                if name is None:
                    raise DataError(f"Archive lacks x-final/{lang}/{fname}; it is not the PAWS-X release.",
                                    path=archive)
                wanted[name] = (lang, split)
        extracted = extract_archive(archive, ctx.staging / "pawsx", select=list(wanted))
        for path in extracted:
            name = path.relative_to((ctx.staging / "pawsx").resolve()).as_posix()
            lang, split = wanted[name]
            rows = []
            lines = _read_utf8(path).split("\n")
            for lineno, line in enumerate(lines[1:], 2):  # header: id sentence1 sentence2 label
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                items = line.split("\t")
                if len(items) != 4:
                    raise DataError(f"Expected 4 columns (id, sentence1, sentence2, label), got {len(items)}.",
                                    path=path, line=lineno)
                rows.append((items[1].strip(), items[2].strip(), items[3].strip()))
            ctx.write_tsv(f"xtreme/pawsx/{split}-{lang}.tsv", rows)


# The 112 languages of the LASER Tatoeba test sets (tatoeba.<xxx>-eng.<xxx>).
TATOEBA_CODES: tuple[str, ...] = (
    "afr", "amh", "ang", "ara", "arq", "arz", "ast", "awa", "aze", "bel", "ben", "ber", "bos",
    "bre", "bul", "cat", "cbk", "ceb", "ces", "cha", "cmn", "cor", "csb", "cym", "dan", "deu",
    "dsb", "dtp", "ell", "epo", "est", "eus", "fao", "fin", "fra", "fry", "gla", "gle", "glg",
    "gsw", "heb", "hin", "hrv", "hsb", "hun", "hye", "ido", "ile", "ina", "ind", "isl", "ita",
    "jav", "jpn", "kab", "kat", "kaz", "khm", "kor", "kur", "kzj", "lat", "lfn", "lit", "lvs",
    "mal", "mar", "max", "mhr", "mkd", "mon", "nds", "nld", "nno", "nob", "nov", "oci", "orv",
    "pam", "pes", "pms", "pol", "por", "ron", "rus", "slk", "slv", "spa", "sqi", "srp", "swe",
    "swg", "swh", "tam", "tat", "tel", "tgl", "tha", "tuk", "tur", "tzl", "uig", "ukr", "urd",
    "uzb", "vie", "war", "wuu", "xho", "yid", "yue", "zsm",
)


@_register
class XtremeTatoeba(Resource):
    """The LASER Tatoeba similarity-search test sets (112 languages paired with English)."""

    name = "xtreme-tatoeba"
    description = "Tatoeba test sets (112 languages x English) from github.com/facebookresearch/LASER"
    languages = TATOEBA_CODES
    base = "https://raw.githubusercontent.com/facebookresearch/LASER/main/data/tatoeba/v1"

    def select_langs(self, requested: list[str] | None) -> tuple[list[str], list[str]]:
        if requested is None:
            return list(TATOEBA_CODES), []
        chosen, skipped = [], []
        for code in requested:
            lang = find_language(code)
            tat = lang.tatoeba if lang is not None and lang.tatoeba and lang.iso1 != "en" else code
            if tat in TATOEBA_CODES:
                if tat not in chosen:
                    chosen.append(tat)
            else:
                skipped.append(code)
        return chosen, skipped

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        out = []
        for code in langs:
            for side in (code, "eng"):
                fname = f"tatoeba.{code}-eng.{side}"
                out.append(Source(f"xtreme/tatoeba/v1/{fname}", f"{self.base}/{fname}"))
        return out

    def install(self, ctx: _Context) -> None:
        for code in ctx.langs:
            texts = []
            for side in (code, "eng"):
                key = f"xtreme/tatoeba/v1/tatoeba.{code}-eng.{side}"
                texts.append((key, _read_utf8(ctx.files[key])))
            n = [t.count("\n") + (0 if t.endswith("\n") or not t else 1) for _, t in texts]
            if n[0] != n[1]:
                raise DataError(f"Tatoeba files are not line-aligned ({n[0]} vs {n[1]} lines).",
                                path=ctx.files[texts[0][0]])
            for key, text in texts:
                ctx.write_text(key, text)


# XTREME's UD-POS languages (scripts/download_data.sh), minus Wolof which the language table lacks.
_UDPOS_LANGS = (
    "af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id",
    "it", "ja", "kk", "ko", "lt", "mr", "nl", "pl", "pt", "ro", "ru", "ta", "te", "th", "tl", "tr",
    "uk", "ur", "vi", "yo", "zh",
)


def _conllu_pos_sentences(text: str, path: Path) -> list[tuple[list[str], list[str]]]:
    """(words, UPOS) of each sentence, XTREME's way: syntactic words, mostly-'_' sentences dropped."""
    out = []
    forms: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        nonlocal forms, tags
        if forms:
            n_empty = sum(w == "_" for w in forms)
            if n_empty == 0 or n_empty < len(forms) - 1:
                out.append((forms, tags))
        forms, tags = [], []

    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise DataError(f"Expected 10 CoNLL-U columns, got {len(cols)}.", path=path, line=lineno)
        if not cols[0].isdigit():  # multiword-token ranges (1-2) and empty nodes (1.1)
            continue
        form = "".join(cols[1].replace("\u200c", "").split(" "))
        forms.append(form or "_")
        tags.append(cols[3])
    flush()
    return out


@_register
class XtremeUdpos(Resource):
    """UD v2.7 (XTREME's release) converted to ``udpos/{train,dev,test}-<xx>.tsv``."""

    name = "xtreme-udpos"
    description = "UD-POS from the UD v2.7 release on lindat.mff.cuni.cz (~350 MB), as xtreme/udpos/<split>-<xx>.tsv"
    languages = _UDPOS_LANGS
    url = "https://lindat.mff.cuni.cz/repository/xmlui/bitstream/handle/11234/1-3424/ud-treebanks-v2.7.tgz"
    key = "udpos/ud-treebanks-v2.7.tgz"
    _file = re.compile(r"(?:\A|/)UD_[^/]+/([a-z]{2,3})_[a-z0-9]+-ud-(train|dev|test)\.conllu\Z")

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        return [Source(self.key, self.url)]

    def install(self, ctx: _Context) -> None:
        archive = ctx.files[self.key]
        members = check_archive(archive)
        codes = {get_language(lang).ud_code or lang: lang for lang in ctx.langs}
        selected: dict[str, tuple[str, str]] = {}
        for name in members:
            m = self._file.search(name)
            if m and m.group(1) in codes:
                selected[name] = (codes[m.group(1)], m.group(2))
        staging = ctx.staging / "udpos"
        extract_archive(archive, staging, select=list(selected))
        data: dict[tuple[str, str], list[tuple[list[str], list[str]]]] = {}
        for name in sorted(selected):
            lang, split = selected[name]
            path = staging / _check_member_name(name, archive)
            data.setdefault((lang, split), []).extend(_conllu_pos_sentences(_read_utf8(path), path))
        for lang in ctx.langs:
            if not any(k[0] == lang for k in data):
                raise DataError(f"The UD archive has no treebank for {lang!r}.", path=archive)
        for (lang, split), sents in sorted(data.items()):
            body = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(ws, ts)) for ws, ts in sents)
            ctx.write_text(f"xtreme/udpos/{split}-{lang}.tsv", body + "\n")


_PANX_LANGS = (
    "ar", "he", "vi", "id", "jv", "ms", "tl", "eu", "ml", "ta", "te", "af", "nl", "en", "de", "el",
    "bn", "hi", "mr", "ur", "fa", "fr", "it", "pt", "es", "bg", "ru", "ja", "ka", "ko", "th", "sw",
    "yo", "my", "zh", "kk", "tr", "et", "fi", "hu", "qu", "pl", "uk", "az", "lt", "pa", "gu", "ro",
)
#: Where PAN-X (WikiANN) must be fetched by hand (its host offers no direct download).
PANX_MANUAL_URL = "https://www.amazon.com/clouddrive/share/d3KGCRCIYwhKJF0H3eWA26hjg2ZCRhjpEQtDL70FSBN"


@_register
class XtremePanx(Resource):
    """WikiANN / PAN-X from XTREME's ``AmazonPhotos.zip`` (manual download or --base-url mirror)."""

    name = "xtreme-panx"
    description = ("PAN-X / WikiANN NER (XTREME's AmazonPhotos.zip: manual download, give --panx-archive, "
                   "or a --base-url mirror with panx/AmazonPhotos.zip)")
    languages = _PANX_LANGS
    defaults = ("ar", "bg", "de", "el", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr",
                "ur", "vi", "zh")
    key = "panx/AmazonPhotos.zip"

    def sources(self, langs: list[str], cfg: DownloadConfig) -> list[Source]:
        return [Source(self.key, None)]

    def install(self, ctx: _Context) -> None:
        archive = ctx.files[self.key]
        members = check_archive(archive)
        by_lang = {PurePosixPath(m).name[:-len(".tar.gz")]: m for m in members if m.endswith(".tar.gz")}
        staging = ctx.staging / "panx"
        for lang in ctx.langs:
            if lang not in by_lang:
                raise DataError(f"Archive lacks {lang}.tar.gz; it is not XTREME's PAN-X archive.", path=archive)
            (inner,) = extract_archive(archive, staging, select=[by_lang[lang]], flatten=True)
            inner_members = check_archive(inner)
            for split in ("train", "dev", "test"):
                name = next((m for m in inner_members if PurePosixPath(m).name == split), None)
                if name is None:
                    raise DataError(f"Archive lacks the {split!r} file.", path=inner)
                (path,) = extract_archive(inner, staging / lang, select=[name], flatten=True)
                lines = []
                for lineno, line in enumerate(_read_utf8(path).split("\n"), 1):
                    items = line.strip().split("\t")
                    if len(items) == 2:
                        token = items[0]
                        colon = token.find(":")
                        if colon == -1:
                            raise DataError(f"Expected '{lang}:word<TAB>tag', got {line[:60]!r}.", path=path,
                                            line=lineno)
                        lines.append(f"{token[colon + 1:].strip()}\t{items[1].strip()}")
                    elif not line.strip():
                        if lines and lines[-1] != "":
                            lines.append("")
                    else:
                        raise DataError(f"Expected '{lang}:word<TAB>tag', got {line[:60]!r}.", path=path,
                                        line=lineno)
                while lines and lines[-1] == "":
                    lines.pop()
                ctx.write_text(f"xtreme/panx/{split}-{lang}.tsv", "\n".join(lines) + "\n")
