"""Plain typed records shared by readers, extraction, probes and transfer.

A :class:`Sentence` is the unit everything else consumes: its ``text`` is what
the model reads, and each :class:`Word` knows its character span in that text
(so subword pooling works for scripts without spaces and for multiword
tokens, whose syntactic words share the span of their surface token).
Sentence-pair tasks (NLI, paraphrase) put the second text in ``text_b``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Word", "Sentence", "UPOS_TAGS"]

#: The 17 universal part-of-speech tags of UD v2.
UPOS_TAGS: tuple[str, ...] = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)


@dataclass
class Word:
    """One syntactic word.

    Attributes
    ----------
    id : int
        1-based position among the sentence's syntactic words (CoNLL-U ID).
    form : str
        The word form.
    span : tuple of int
        ``(start, end)`` character offsets of the word's surface token in
        ``Sentence.text``; the words of a multiword token share its span.
    upos, xpos, lemma, deprel : str or None
        CoNLL-U columns (``None`` when absent / ``_``).
    feats : dict of str to str
        Morphological features (``{"Number": "Sing"}``); empty if none.
    head : int or None
        1-based id of the head word, 0 for the root, ``None`` if unannotated.
    tag : str or None
        A task label that is not a UD column (e.g. a BIO NER tag).
    """

    id: int
    form: str
    span: tuple[int, int]
    upos: str | None = None
    xpos: str | None = None
    lemma: str | None = None
    feats: dict[str, str] = field(default_factory=dict)
    head: int | None = None
    deprel: str | None = None
    tag: str | None = None


@dataclass
class Sentence:
    """A sentence (or sentence pair) with its words.

    Attributes
    ----------
    sent_id : str
        Identifier, unique within a language; parallel corpora share ids
        across languages (PUD ``# sent_id``, XNLI line index).
    lang : str
        ISO 639-1 code (or the resource's own code when no 639-1 exists).
    text : str
        The text the model reads.
    words : list of Word
        Syntactic words (empty for sentence-level tasks).
    text_b : str or None
        Second text of a sentence pair.
    label : str or None
        Sentence-level label (NLI class, paraphrase 0/1).
    source : str or None
        ``"path:line"`` the sentence came from, for error messages.
    """

    sent_id: str
    lang: str
    text: str
    words: list[Word] = field(default_factory=list)
    text_b: str | None = None
    label: str | None = None
    source: str | None = None
