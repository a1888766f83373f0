"""One table of languages and the code each resource uses for them.

Every resource names languages its own way: UD treebanks by an English name
and a short code (``UD_Chinese-PUD``, ``zh_pud``), XTREME file names by ISO
639-1 (``train-zh.tsv``), lang2vec/URIEL by an ISO 639-3 *individual*
language (``cmn``, ``arb``, ``pes``), the mT5 statistics by the codes of the
mT5 paper (``iw`` for Hebrew, ``fil`` for Filipino), the Tatoeba test sets by
3-letter codes (``cmn``, ``swh``, ``lvs``) and PanLex by variety identifiers
(``cmn-000``). This module is the only place those mappings live; everything
else asks :func:`get_language` and :func:`code_for`.

The suite's canonical language code is ISO 639-1 (``Language.iso1``).

Examples
--------
>>> get_language("German").iso1
'de'
>>> get_language("CMN").name
'Chinese'
>>> code_for("he", "mc4")
'iw'
>>> resolve_langs("en, DE ,tur")
['en', 'de', 'tr']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from crossling.errors import ConfigError, short_repr, suggest

__all__ = [
    "LANGUAGES",
    "RESOURCES",
    "Language",
    "canonical_code",
    "canonical_codes",
    "code_for",
    "find_language",
    "from_code",
    "get_language",
    "language_table",
    "languages_with",
    "resolve_langs",
    "ud_treebank",
]

#: Resources whose codes :func:`code_for` knows, with what the code is.
RESOURCES: dict[str, str] = {
    "iso1": "ISO 639-1 code (the suite's canonical code)",
    "iso3": "ISO 639-3 code (macrolanguage where one exists)",
    "ud": "code in UD file names (en in en_pud-ud-test.conllu)",
    "ud_name": "language name in UD treebank folders (English in UD_English-PUD)",
    "xtreme": "code in XTREME file names (en in train-en.tsv)",
    "lang2vec": "ISO 639-3 code that lang2vec / URIEL accepts",
    "mc4": "code in the mT5 mC4 token table (typology/mc4_tokens_billions.csv)",
    "tatoeba": "3-letter code in the LASER Tatoeba file names (tatoeba.<xxx>-eng.<xxx>)",
    "panlex": "PanLex language-variety identifier (<iso639-3>-<nnn>) in the Swadesh lists",
}


@dataclass(frozen=True)
class Language:
    """A language and its code in every resource the suite reads.

    Attributes
    ----------
    iso1 : str
        ISO 639-1 code; the suite's canonical code (``"en"``).
    iso3 : str
        ISO 639-3 code (the macrolanguage code where one exists: ``"ara"``,
        ``"zho"``, ``"fas"``).
    name : str
        English name.
    scripts : tuple of str
        ISO 15924 codes of the scripts the language is usually written in.
    family : str
        Top-level language family (Glottolog-style; ``"Isolate"`` for Basque,
        ``"Constructed"`` for Esperanto).
    genus : str
        Genus (WALS-style subgroup, e.g. ``"Germanic"``).
    ud : tuple of (str, str) or None
        ``(treebank language name, file code)``, e.g. ``("English", "en")``;
        ``None`` if the language has no UD treebank.
    xtreme : str or None
        Code in XTREME file names; ``None`` if XTREME does not cover it.
    lang2vec : str or None
        ISO 639-3 code accepted by lang2vec (URIEL). For macrolanguages this is
        the main individual language (``arb`` for Arabic, ``cmn`` for Chinese).
    mc4 : str or None
        Code in the mT5 paper's mC4 table; ``None`` if mT5 did not train on it.
    tatoeba : str or None
        Code in the Tatoeba test-set file names; ``None`` if there is no set.
    panlex : str or None
        PanLex language-variety identifier in the Swadesh lists.
    aliases : tuple of str
        Other names and codes :func:`get_language` accepts.
    """

    iso1: str
    iso3: str
    name: str
    scripts: tuple[str, ...]
    family: str
    genus: str
    ud: tuple[str, str] | None = None
    xtreme: str | None = None
    lang2vec: str | None = None
    mc4: str | None = None
    tatoeba: str | None = None
    panlex: str | None = None
    aliases: tuple[str, ...] = field(default=())

    @property
    def script(self) -> str:
        """The main script (first of :attr:`scripts`)."""
        return self.scripts[0]

    @property
    def ud_name(self) -> str | None:
        """Language name in UD treebank folder names, or ``None``."""
        return None if self.ud is None else self.ud[0]

    @property
    def ud_code(self) -> str | None:
        """Code in UD file names, or ``None``."""
        return None if self.ud is None else self.ud[1]


# XTREME's 40 languages (PAN-X, UD-POS, XNLI, ... union), named by ISO 639-1.
_XTREME = {
    "af", "ar", "az", "bg", "bn", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "gu", "he",
    "hi", "hu", "id", "it", "ja", "jv", "ka", "kk", "ko", "lt", "ml", "mr", "ms", "my", "nl", "pa",
    "pl", "pt", "qu", "ro", "ru", "sw", "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "yo", "zh",
}

IE = "Indo-European"


def _L(iso1: str, iso3: str, name: str, scripts: str, family: str, genus: str,
       ud: str | None, l2v: str | None, mc4: str | None, tat: str | None, panlex: str | None,
       aliases: Sequence[str] = ()) -> Language:
    """Build one table row; ``ud`` is ``"Name/code"`` and ``scripts`` space-separated."""
    ud_pair = None
    if ud is not None:
        ud_name, _, ud_code = ud.partition("/")
        ud_pair = (ud_name, ud_code or iso1)
    return Language(
        iso1=iso1, iso3=iso3, name=name, scripts=tuple(scripts.split()), family=family, genus=genus,
        ud=ud_pair, xtreme=iso1 if iso1 in _XTREME else None, lang2vec=l2v, mc4=mc4, tatoeba=tat,
        panlex=panlex, aliases=tuple(aliases),
    )


# iso1, iso3, name, scripts, family, genus, UD name/code, lang2vec, mC4, Tatoeba, PanLex, aliases
_ROWS: tuple[Language, ...] = (
    _L("af", "afr", "Afrikaans", "Latn", IE, "Germanic", "Afrikaans", "afr", "af", "afr", "afr-000"),
    _L("am", "amh", "Amharic", "Ethi", "Afro-Asiatic", "Semitic", "Amharic", "amh", "am", "amh", "amh-001"),
    _L("ar", "ara", "Arabic", "Arab", "Afro-Asiatic", "Semitic", "Arabic", "arb", "ar", "ara", "arb-000",
       ("arb", "Modern Standard Arabic")),
    _L("az", "aze", "Azerbaijani", "Latn", "Turkic", "Turkic", None, "azj", "az", "aze", "azj-000",
       ("azj", "Azeri", "North Azerbaijani")),
    _L("be", "bel", "Belarusian", "Cyrl", IE, "Slavic", "Belarusian", "bel", "be", "bel", "bel-000"),
    _L("bg", "bul", "Bulgarian", "Cyrl", IE, "Slavic", "Bulgarian", "bul", "bg", "bul", "bul-000"),
    _L("bn", "ben", "Bengali", "Beng", IE, "Indic", "Bengali", "ben", "bn", "ben", "ben-000", ("Bangla",)),
    _L("br", "bre", "Breton", "Latn", IE, "Celtic", "Breton", "bre", None, "bre", "bre-000"),
    _L("ca", "cat", "Catalan", "Latn", IE, "Romance", "Catalan", "cat", "ca", "cat", "cat-000"),
    _L("cs", "ces", "Czech", "Latn", IE, "Slavic", "Czech", "ces", "cs", "ces", "ces-000", ("cze",)),
    _L("cy", "cym", "Welsh", "Latn", IE, "Celtic", "Welsh", "cym", "cy", "cym", "cym-000", ("wel",)),
    _L("da", "dan", "Danish", "Latn", IE, "Germanic", "Danish", "dan", "da", "dan", "dan-000"),
    _L("de", "deu", "German", "Latn", IE, "Germanic", "German", "deu", "de", "deu", "deu-000", ("ger",)),
    _L("el", "ell", "Greek", "Grek", IE, "Greek", "Greek", "ell", "el", "ell", "ell-000",
       ("gre", "Modern Greek")),
    _L("en", "eng", "English", "Latn", IE, "Germanic", "English", "eng", "en", "eng", "eng-000"),
    _L("eo", "epo", "Esperanto", "Latn", "Constructed", "Constructed", None, "epo", "eo", "epo", "epo-000"),
    _L("es", "spa", "Spanish", "Latn", IE, "Romance", "Spanish", "spa", "es", "spa", "spa-000", ("Castilian",)),
    _L("et", "est", "Estonian", "Latn", "Uralic", "Finnic", "Estonian", "ekk", "et", "est", "ekk-000", ("ekk",)),
    _L("eu", "eus", "Basque", "Latn", "Isolate", "Basque", "Basque", "eus", "eu", "eus", "eus-000", ("baq",)),
    _L("fa", "fas", "Persian", "Arab", IE, "Iranian", "Persian", "pes", "fa", "pes", "pes-000",
       ("pes", "per", "Farsi", "Iranian Persian")),
    _L("fi", "fin", "Finnish", "Latn", "Uralic", "Finnic", "Finnish", "fin", "fi", "fin", "fin-000"),
    _L("fr", "fra", "French", "Latn", IE, "Romance", "French", "fra", "fr", "fra", "fra-000", ("fre",)),
    _L("fy", "fry", "Western Frisian", "Latn", IE, "Germanic", None, "fry", "fy", "fry", "fry-000",
       ("Frisian",)),
    _L("ga", "gle", "Irish", "Latn", IE, "Celtic", "Irish", "gle", "ga", "gle", "gle-000", ("Irish Gaelic",)),
    _L("gd", "gla", "Scottish Gaelic", "Latn", IE, "Celtic", "Scottish_Gaelic/gd", "gla", "gd", "gla",
       "gla-000", ("Gaelic",)),
    _L("gl", "glg", "Galician", "Latn", IE, "Romance", "Galician", "glg", "gl", "glg", "glg-000"),
    _L("gu", "guj", "Gujarati", "Gujr", IE, "Indic", None, "guj", "gu", None, None),
    _L("he", "heb", "Hebrew", "Hebr", "Afro-Asiatic", "Semitic", "Hebrew", "heb", "iw", "heb", "heb-000",
       ("iw",)),
    _L("hi", "hin", "Hindi", "Deva", IE, "Indic", "Hindi", "hin", "hi", "hin", "hin-000"),
    _L("hr", "hrv", "Croatian", "Latn", IE, "Slavic", "Croatian", "hrv", None, "hrv", "hrv-000"),
    _L("hu", "hun", "Hungarian", "Latn", "Uralic", "Ugric", "Hungarian", "hun", "hu", "hun", "hun-000"),
    _L("hy", "hye", "Armenian", "Armn", IE, "Armenian", "Armenian", "hye", "hy", "hye", "hye-000", ("arm",)),
    _L("id", "ind", "Indonesian", "Latn", "Austronesian", "Malayo-Sumbawan", "Indonesian", "ind", "id", "ind",
       "ind-000", ("in",)),
    _L("is", "isl", "Icelandic", "Latn", IE, "Germanic", "Icelandic", "isl", "is", "isl", "isl-000", ("ice",)),
    _L("it", "ita", "Italian", "Latn", IE, "Romance", "Italian", "ita", "it", "ita", "ita-000"),
    _L("ja", "jpn", "Japanese", "Jpan", "Japonic", "Japanese", "Japanese", "jpn", "ja", "jpn", "jpn-000"),
    _L("jv", "jav", "Javanese", "Latn", "Austronesian", "Javanese", "Javanese", "jav", "jv", "jav", "jav-000"),
    _L("ka", "kat", "Georgian", "Geor", "Kartvelian", "Kartvelian", None, "kat", "ka", "kat", "kat-000", ("geo",)),
    _L("kk", "kaz", "Kazakh", "Cyrl", "Turkic", "Turkic", "Kazakh", "kaz", "kk", "kaz", "kaz-000"),
    _L("km", "khm", "Khmer", "Khmr", "Austro-Asiatic", "Khmer", None, "khm", "km", "khm", "khm-000",
       ("Cambodian",)),
    _L("ko", "kor", "Korean", "Kore", "Koreanic", "Korean", "Korean", "kor", "ko", "kor", "kor-000"),
    _L("la", "lat", "Latin", "Latn", IE, "Italic", "Latin", "lat", "la", "lat", "lat-000"),
    _L("lt", "lit", "Lithuanian", "Latn", IE, "Baltic", "Lithuanian", "lit", "lt", "lit", "lit-000"),
    _L("lv", "lav", "Latvian", "Latn", IE, "Baltic", "Latvian", "lav", "lv", "lvs", "lvs-000", ("lvs",)),
    _L("mk", "mkd", "Macedonian", "Cyrl", IE, "Slavic", None, "mkd", "mk", "mkd", "mkd-000", ("mac",)),
    _L("ml", "mal", "Malayalam", "Mlym", "Dravidian", "Southern Dravidian", None, "mal", "ml", "mal",
       "mal-000"),
    _L("mn", "mon", "Mongolian", "Cyrl", "Mongolic", "Mongolic", None, "khk", "mn", "mon", "khk-000",
       ("khk", "Halh Mongolian")),
    _L("mr", "mar", "Marathi", "Deva", IE, "Indic", "Marathi", "mar", "mr", "mar", None),
    _L("ms", "msa", "Malay", "Latn", "Austronesian", "Malayo-Sumbawan", None, "zsm", "ms", "zsm", "zsm-000",
       ("zsm", "may", "Standard Malay")),
    _L("my", "mya", "Burmese", "Mymr", "Sino-Tibetan", "Burmese-Lolo", None, "mya", "my", None, "mya-000",
       ("bur", "Myanmar")),
    _L("nl", "nld", "Dutch", "Latn", IE, "Germanic", "Dutch", "nld", "nl", "nld", "nld-000", ("dut", "Flemish")),
    _L("no", "nor", "Norwegian", "Latn", IE, "Germanic", "Norwegian", "nob", "no", "nob", "nob-000",
       ("nb", "nob", "Norwegian Bokmal", "Bokmal")),
    _L("pa", "pan", "Punjabi", "Guru", IE, "Indic", None, "pan", "pa", None, None, ("Panjabi",)),
    _L("pl", "pol", "Polish", "Latn", IE, "Slavic", "Polish", "pol", "pl", "pol", "pol-000"),
    _L("pt", "por", "Portuguese", "Latn", IE, "Romance", "Portuguese", "por", "pt", "por", "por-000"),
    _L("qu", "que", "Quechua", "Latn", "Quechuan", "Quechuan", None, "quy", None, None, "quy-000"),
    _L("ro", "ron", "Romanian", "Latn", IE, "Romance", "Romanian", "ron", "ro", "ron", "ron-000",
       ("rum", "Moldavian")),
    _L("ru", "rus", "Russian", "Cyrl", IE, "Slavic", "Russian", "rus", "ru", "rus", "rus-000"),
    _L("sk", "slk", "Slovak", "Latn", IE, "Slavic", "Slovak", "slk", "sk", "slk", "slk-000", ("slo",)),
    _L("sl", "slv", "Slovenian", "Latn", IE, "Slavic", "Slovenian", "slv", "sl", "slv", "slv-000",
       ("Slovene",)),
    _L("sq", "sqi", "Albanian", "Latn", IE, "Albanian", "Albanian", "als", "sq", "sqi", "als-000", ("alb", "als")),
    _L("sr", "srp", "Serbian", "Cyrl Latn", IE, "Slavic", "Serbian", "srp", "sr", "srp", "srp-000"),
    _L("sv", "swe", "Swedish", "Latn", IE, "Germanic", "Swedish", "swe", "sv", "swe", "swe-000"),
    _L("sw", "swa", "Swahili", "Latn", "Niger-Congo", "Bantoid", None, "swh", "sw", "swh", "swh-000",
       ("swh", "Kiswahili")),
    _L("ta", "tam", "Tamil", "Taml", "Dravidian", "Southern Dravidian", "Tamil", "tam", "ta", "tam", "tam-000"),
    _L("te", "tel", "Telugu", "Telu", "Dravidian", "South-Central Dravidian", "Telugu", "tel", "te", "tel",
       "tel-000"),
    _L("th", "tha", "Thai", "Thai", "Tai-Kadai", "Kam-Tai", "Thai", "tha", "th", "tha", "tha-000"),
    _L("tl", "tgl", "Tagalog", "Latn", "Austronesian", "Greater Central Philippine", "Tagalog", "tgl", "fil",
       "tgl", "tgl-000", ("fil", "Filipino")),
    _L("tr", "tur", "Turkish", "Latn", "Turkic", "Turkic", "Turkish", "tur", "tr", "tur", "tur-000"),
    _L("uk", "ukr", "Ukrainian", "Cyrl", IE, "Slavic", "Ukrainian", "ukr", "uk", "ukr", "ukr-000"),
    _L("ur", "urd", "Urdu", "Arab", IE, "Indic", "Urdu", "urd", "ur", "urd", None),
    _L("uz", "uzb", "Uzbek", "Latn", "Turkic", "Turkic", None, "uzn", "uz", "uzb", "uzn-000",
       ("uzn", "Northern Uzbek")),
    _L("vi", "vie", "Vietnamese", "Latn", "Austro-Asiatic", "Viet-Muong", "Vietnamese", "vie", "vi", "vie",
       "vie-000"),
    _L("xh", "xho", "Xhosa", "Latn", "Niger-Congo", "Bantoid", None, "xho", "xh", "xho", "xho-000"),
    _L("yi", "yid", "Yiddish", "Hebr", IE, "Germanic", None, "ydd", "yi", "yid", "ydd-001"),
    _L("yo", "yor", "Yoruba", "Latn", "Niger-Congo", "Defoid", "Yoruba", "yor", "yo", None, "yor-000"),
    _L("zh", "zho", "Chinese", "Hans Hant", "Sino-Tibetan", "Chinese", "Chinese", "cmn", "zh", "cmn", "cmn-000",
       ("cmn", "chi", "Mandarin", "Mandarin Chinese")),
)

#: Every known language, keyed by ISO 639-1 code, in alphabetical order.
LANGUAGES: dict[str, Language] = {lang.iso1: lang for lang in _ROWS}


def _build_index(rows: Iterable[Language]) -> dict[str, Language]:
    """Map every accepted spelling (lower-case) to its language; reject ambiguous keys."""
    index: dict[str, Language] = {}
    for lang in rows:
        keys = {lang.iso1, lang.iso3, lang.name, *lang.aliases}
        for k in keys:
            key = k.lower()
            other = index.get(key)
            if other is not None and other is not lang:
                raise ConfigError(f"Language key {k!r} names both {other.name} and {lang.name}.")
            index[key] = lang
    return index


_INDEX = _build_index(_ROWS)


def _normalise(code: str) -> str:
    return " ".join(str(code).replace("_", " ").split()).lower()


def find_language(code_or_name: str) -> Language | None:
    """Like :func:`get_language` but return ``None`` for an unknown language."""
    if not isinstance(code_or_name, str):
        return None
    return _INDEX.get(_normalise(code_or_name))


def get_language(code_or_name: str | Language) -> Language:
    """Look a language up by ISO 639-1, ISO 639-3, English name or alias.

    Case-insensitive; surrounding whitespace is ignored.

    Parameters
    ----------
    code_or_name : str or Language
        ``"de"``, ``"deu"``, ``"German"``, ``"ger"``; a :class:`Language` is
        returned unchanged.

    Returns
    -------
    Language

    Raises
    ------
    ConfigError
        If nothing matches; the message suggests close matches.

    Examples
    --------
    >>> get_language("fas").iso1
    'fa'
    """
    if isinstance(code_or_name, Language):
        return code_or_name
    lang = find_language(code_or_name)
    if lang is None:
        value = str(code_or_name)
        choices = sorted(set(_INDEX) | {lg.name for lg in _ROWS})
        hint = suggest(_normalise(value), choices)
        raise ConfigError(
            f"Unknown language {short_repr(value)}.{hint} Give an ISO 639-1 code (de), an ISO 639-3 code (deu) "
            f"or an English name (German); known ISO 639-1 codes: {', '.join(LANGUAGES)}."
        )
    return lang


def resolve_langs(spec: str | Iterable[str | Language], available: Iterable[str] | None = None,
                  param: str = "langs") -> list[str]:
    """Turn ``"en,de,tr"`` (or a list) into validated ISO 639-1 codes.

    Parameters
    ----------
    spec : str or iterable of str
        Comma-separated codes/names, or a sequence of them. Duplicates are
        dropped, order is kept.
    available : iterable of str, optional
        Languages (any spelling) that may be chosen, e.g. those present in a
        data set; a language outside it raises :class:`ConfigError`.
    param : str, default="langs"
        Parameter name used in error messages.

    Returns
    -------
    list of str
        ISO 639-1 codes.

    Raises
    ------
    ConfigError
        If the spec is empty, names an unknown language, or one not in
        ``available``.

    Examples
    --------
    >>> resolve_langs(["German", "en", "de"])
    ['de', 'en']
    """
    if isinstance(spec, str):
        items: list[str | Language] = [s.strip() for s in spec.split(",") if s.strip()]
    elif spec is None:
        items = []
    else:
        items = []
        for s in spec:
            if isinstance(s, str):
                items.extend(t.strip() for t in s.split(",") if t.strip())
            else:
                items.append(s)
    if not items:
        raise ConfigError(f"Parameter {param!r} names no language (got {spec!r}). "
                          "Give a comma-separated list such as 'en,de,tr'.")
    allowed: set[str] | None = None
    if available is not None:
        allowed = {get_language(a).iso1 for a in available}
    out: list[str] = []
    for item in items:
        try:
            iso1 = get_language(item).iso1
        except ConfigError as exc:
            raise ConfigError(f"Parameter {param!r}: {exc}") from None
        if allowed is not None and iso1 not in allowed:
            raise ConfigError(
                f"Parameter {param!r}: language {item!r} ({iso1}) is not available here; "
                f"available: {', '.join(sorted(allowed)) or '(none)'}."
            )
        if iso1 not in out:
            out.append(iso1)
    return out


def canonical_code(code: str, *, param: str = "langs") -> str:
    """The suite's code for a language code given in any accepted spelling (every CLI uses this).

    ISO 639-1 where the language has one (``EN``, ``eng``, ``English`` -> ``en``);
    an ISO 639-3 code of a language this table does not know is kept,
    lower-cased (``Qya`` -> ``qya``), so data sets with more languages still work.

    Parameters
    ----------
    code : str
        A code or name, any case.
    param : str, default="langs"
        Parameter named in errors.

    Raises
    ------
    ConfigError
        If ``code`` is neither a known language nor a 2-3 letter code.

    Examples
    --------
    >>> [canonical_code(c) for c in ("EN", "deu", "German", "Swh", "Qya")]
    ['en', 'de', 'de', 'sw', 'qya']
    """
    if not isinstance(code, str):
        raise ConfigError(f"Parameter {param!r}: a language code must be a string, got {short_repr(code)}.")
    lang = find_language(code)
    if lang is not None:
        return lang.iso1
    c = code.strip().lower()
    if 2 <= len(c) <= 3 and c.isascii() and c.isalpha():
        return c
    raise ConfigError(f"Parameter {param!r}: {get_language_error(code)}")


def canonical_codes(codes: str | Iterable[str], *, param: str = "langs") -> list[str]:
    """:func:`canonical_code` of each of ``codes`` (comma-separated or a list); a language named twice
    (in any spelling, e.g. ``en,eng``) is an error.

    Examples
    --------
    >>> canonical_codes("EN, deu")
    ['en', 'de']
    """
    items = [t.strip() for t in codes.split(",")] if isinstance(codes, str) else [
        t.strip() if isinstance(t, str) else t for t in codes]
    out = [canonical_code(t, param=param) for t in items if t != ""]
    dup = sorted({c for c in out if out.count(c) > 1})
    if dup:
        raise ConfigError(f"The {param!r} parameter lists a language more than once ({', '.join(dup)} named twice; "
                          f"spellings such as 'en' and 'eng' name one language): {short_repr(list(items))}. Give each "
                          "language once.")
    return out


def get_language_error(code: object) -> str:
    """The message of :func:`get_language` for an unknown ``code``."""
    try:
        get_language(str(code))
    except ConfigError as exc:
        return str(exc)
    return f"unknown language {short_repr(code)}."


def code_for(lang: str | Language, resource: str) -> str:
    """The code ``resource`` uses for ``lang``.

    Parameters
    ----------
    lang : str or Language
        Any spelling :func:`get_language` accepts.
    resource : str
        One of :data:`RESOURCES` (``"ud"``, ``"xtreme"``, ``"lang2vec"``,
        ``"mc4"``, ``"tatoeba"``, ``"panlex"``, ``"iso1"``, ``"iso3"``,
        ``"ud_name"``).

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        If the resource is unknown or does not cover the language.

    Examples
    --------
    >>> code_for("Chinese", "lang2vec")
    'cmn'
    """
    if resource not in RESOURCES:
        raise ConfigError(f"Unknown language resource {resource!r}.{suggest(resource, RESOURCES)} "
                          f"Available: {', '.join(RESOURCES)}.")
    language = get_language(lang)
    code = getattr(language, resource if resource not in ("ud",) else "ud_code")
    if code is None:
        have = [lg.iso1 for lg in _ROWS if getattr(lg, resource if resource != "ud" else "ud_code")]
        raise ConfigError(
            f"{language.name} ({language.iso1}) has no {resource} code: {RESOURCES[resource]} does not "
            f"exist for it. Languages with one: {', '.join(have)}."
        )
    return str(code)


def from_code(code: str, resource: str) -> Language | None:
    """The language whose ``resource`` code is ``code`` (``None`` if unknown).

    Examples
    --------
    >>> from_code("swh", "tatoeba").iso1
    'sw'
    >>> from_code("iw", "mc4").name
    'Hebrew'
    """
    if resource not in RESOURCES:
        raise ConfigError(f"Unknown language resource {resource!r}.{suggest(resource, RESOURCES)} "
                          f"Available: {', '.join(RESOURCES)}.")
    attr = "ud_code" if resource == "ud" else resource
    for lang in _ROWS:
        if getattr(lang, attr) == code:
            return lang
    return None


def languages_with(resource: str) -> list[Language]:
    """Languages that have a code for ``resource``, in ISO 639-1 order."""
    if resource not in RESOURCES:
        raise ConfigError(f"Unknown language resource {resource!r}.{suggest(resource, RESOURCES)} "
                          f"Available: {', '.join(RESOURCES)}.")
    attr = "ud_code" if resource == "ud" else resource
    return [lang for lang in _ROWS if getattr(lang, attr) is not None]


def ud_treebank(lang: str | Language, corpus: str = "PUD", split: str = "test") -> tuple[str, str]:
    """UD folder and file name of a treebank, e.g. ``("UD_English-PUD", "en_pud-ud-test.conllu")``.

    Raises
    ------
    ConfigError
        If the language has no UD code.
    """
    language = get_language(lang)
    name, code = code_for(language, "ud_name"), code_for(language, "ud")
    return f"UD_{name}-{corpus}", f"{code}_{corpus.lower()}-ud-{split}.conllu"


def language_table() -> list[dict[str, str]]:
    """One row per language with every code (``""`` where none); for docs and CLIs."""
    rows = []
    for lang in _ROWS:
        rows.append({
            "iso1": lang.iso1, "iso3": lang.iso3, "name": lang.name, "scripts": " ".join(lang.scripts),
            "family": lang.family, "genus": lang.genus, "ud": lang.ud_code or "",
            "ud_name": lang.ud_name or "", "xtreme": lang.xtreme or "", "lang2vec": lang.lang2vec or "",
            "mc4": lang.mc4 or "", "tatoeba": lang.tatoeba or "", "panlex": lang.panlex or "",
        })
    return rows


_TABLE_COLUMNS = ("iso1", "iso3", "name", "scripts", "family", "genus", "ud", "ud_name", "xtreme", "lang2vec",
                  "mc4", "tatoeba", "panlex")


def language_table_markdown() -> str:
    """The language table as Markdown (``-`` where a resource has no code); docs/data.md embeds it."""
    lines = ["| " + " | ".join(_TABLE_COLUMNS) + " |", "|" + " --- |" * len(_TABLE_COLUMNS)]
    for row in language_table():
        lines.append("| " + " | ".join(row[c] or "-" for c in _TABLE_COLUMNS) + " |")
    return "\n".join(lines) + "\n"
