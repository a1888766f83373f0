"""Probe tasks on a tiny real CoNLL-U fixture, and a conformance check over every registered task."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from probes.readers.conllu import parse_conllu
from crossling.errors import ConfigError, DataError
from crossling.registry import Registry
from probes.probing import (
    MORPH_FEATURES,
    TASKS,
    MorphTask,
    ProbeTask,
    UD_DEPRELS,
    control_labels,
    get_task,
    parse_feats,
    register_task,
    resolve_tasks,
    sentences_from_index,
    task_labels,
)
from crossling.types import UPOS_TAGS

# Two sentences: a multiword token (du = de + le), words without features, a subtyped relation.
FIXTURE = """\
# sent_id = s1
# text = Il parle du chat.
1	Il	il	PRON	_	Gender=Masc|Number=Sing|Person=3|PronType=Prs	2	nsubj	_	_
2	parle	parler	VERB	_	Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin	0	root	_	_
3-4	du	_	_	_	_	_	_	_	_
3	de	de	ADP	_	_	5	case	_	_
4	le	le	DET	_	Definite=Def|Gender=Masc|Number=Sing|PronType=Art	5	det	_	_
5	chat	chat	NOUN	_	Gender=Masc|Number=Sing	2	obl:arg	_	SpaceAfter=No
6	.	.	PUNCT	_	_	2	punct	_	_

# sent_id = s2
# text = Les chats dorment.
1	Les	le	DET	_	Definite=Def|Number=Plur|PronType=Art	2	det	_	_
2	chats	chat	NOUN	_	Gender=Masc|Number=Plur	3	nsubj	_	_
3	dorment	dormir	VERB	_	Mood=Ind|Number=Plur|Person=3|Tense=Pres|VerbForm=Fin	0	root	_	SpaceAfter=No
4	.	.	PUNCT	_	_	3	punct	_	_

"""


@pytest.fixture(scope="module")
def sents():
    return parse_conllu(FIXTURE, lang="fr", source="fixture.conllu")


def test_upos_and_multiword_tokens(sents):
    t = get_task("upos")
    assert t.labels(sents[0]) == ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"]  # du -> de + le: two words
    assert len(task_labels(t, sents)) == sum(len(s.words) for s in sents) == 10


def test_deprel_universal_part_and_full(sents):
    assert get_task("deprel").labels(sents[0])[4] == "obl"
    assert get_task("deprel-full").labels(sents[0])[4] == "obl:arg"
    assert get_task("deprel").labels(sents[0])[1] == "root"


def test_morph_missing_policy(sents):
    num = get_task("morph:Number")
    assert num.labels(sents[0]) == ["Sing", "Sing", None, "Sing", "Sing", None]
    assert MorphTask("Number", missing="none").labels(sents[0])[2] == "_none_"
    assert get_task("morph:Tense").labels(sents[1]) == [None, None, "Pres", None]
    # an unregistered feature by name
    assert get_task("morph:Poss").labels(sents[0]) == [None] * 6
    with pytest.raises(ConfigError, match="missing='maybe'"):
        MorphTask("Number", missing="maybe")


def test_morph_labels_of_many_sentences_equal_per_sentence_labels(sents):
    """task_labels takes a one-pass route for built-in morphological tasks: same labels as
    labels() sentence by sentence, and a subclass overriding labels() is still asked."""
    for missing in ("exclude", "none"):
        t = MorphTask("Number", missing=missing)
        assert task_labels(t, sents) == [lab for s in sents for lab in t.labels(s)]

    class Shouting(MorphTask):
        def labels(self, sentence):
            return [None if v is None else v.upper() for v in super().labels(sentence)]

    assert task_labels(Shouting("Number"), sents)[:2] == ["SING", "SING"]


def test_structural_targets(sents):
    # s1 heads (1-based): 2 0 5 5 2 2
    assert get_task("head-distance").labels(sents[0]) == [1.0, None, 2.0, 1.0, 3.0, 4.0]
    assert get_task("tree-depth").labels(sents[0]) == [1.0, 0.0, 2.0, 2.0, 1.0, 1.0]
    assert get_task("arc").labels(sents[0]) == [1, None, 4, 4, 1, 1]


def test_language_id_is_sentence_level(sents):
    t = get_task("language-id")
    assert t.level == "sentence" and t.labels(sents[0]) == ["fr"]
    assert task_labels(t, sents) == ["fr", "fr"]


def test_sentences_from_store_index_roundtrip(sents):
    import pandas as pd

    rows = []
    for s in sents:
        for i, w in enumerate(s.words):
            rows.append({"sentence_id": s.sent_id, "word_index": i, "form": w.form, "upos": w.upos,
                         "feats": "|".join(f"{k}={v}" for k, v in sorted(w.feats.items())),
                         "head": w.head, "deprel": w.deprel, "tag": None})
    back = sentences_from_index(pd.DataFrame(rows), "fr")
    for task in ("upos", "deprel", "morph:Number", "tree-depth", "arc"):
        t = get_task(task)
        assert task_labels(t, back) == task_labels(t, sents)
    bad = pd.DataFrame(rows).iloc[[0, 7, 1]]
    with pytest.raises(DataError, match="not contiguous"):
        sentences_from_index(bad, "fr")
    with pytest.raises(DataError, match="lacks column"):
        sentences_from_index(pd.DataFrame(rows).drop(columns=["feats"]), "fr")


def test_parse_feats():
    assert parse_feats("Case=Nom|Number=Sing") == {"Case": "Nom", "Number": "Sing"}
    assert parse_feats("") == {} and parse_feats("_") == {} and parse_feats(None) == {}


def test_resolve_morph_all_threshold(sents):
    tasks = resolve_tasks(["upos", "morph:all"], {"fr": sents}, min_examples=3)
    names = [t.task_name for t in tasks]
    assert names[0] == "upos"
    assert all(f"morph:{f}" in names for f in MORPH_FEATURES)
    # unregistered features seen often enough are added; none here reach 30
    assert resolve_tasks(["morph:all"], {"fr": sents}, min_examples=30) == resolve_tasks(["morph:all"])
    with pytest.raises(ConfigError, match="Unknown probe task 'upso'.*Did you mean 'upos'"):
        resolve_tasks(["upso"])


def test_control_labels_by_type(sents):
    t = get_task("upos")
    labs = task_labels(t, sents)
    ctl = control_labels(t, sents, labs, seed=3)
    assert ctl == control_labels(t, sents, labs, seed=3)
    assert all(c in UPOS_TAGS for c in ctl)
    forms = [w.form for s in sents for w in s.words]
    per_type = {}
    for f, c in zip(forms, ctl):
        per_type.setdefault(f, set()).add(c)
    assert all(len(v) == 1 for v in per_type.values())  # "." gets one label for both tokens
    num = get_task("morph:Number")
    nl = task_labels(num, sents)
    assert [c is None for c in control_labels(num, sents, nl)] == [v is None for v in nl]
    with pytest.raises(ConfigError, match="Control tasks"):
        control_labels(get_task("arc"), sents, task_labels(get_task("arc"), sents))


def test_control_follows_label_distribution():
    from crossling.types import Sentence, Word

    rng = np.random.default_rng(0)
    words = [Word(id=i + 1, form=f"w{i}", span=(0, 0), upos="NOUN" if rng.random() < 0.8 else "VERB")
             for i in range(4000)]
    s = [Sentence("x", "xx", "", words)]
    t = get_task("upos")
    ctl = control_labels(t, s, task_labels(t, s))
    assert abs(np.mean([c == "NOUN" for c in ctl]) - 0.8) < 0.03


# ---------------------------------------------------------------------------- conformance


@pytest.mark.parametrize("name", TASKS.names())
def test_every_registered_task_conforms(name, sents):
    task = get_task(name)
    assert task.task_name == name
    for s in sents:
        labs = task.labels(s)
        assert len(labs) == (1 if task.level == "sentence" else len(s.words))
        assert labs == task.labels(s), "deterministic"
        for lab in labs:
            if lab is None:
                continue
            if task.kind == "classification":
                assert isinstance(lab, str)
                if task.label_set is not None:
                    assert lab in task.label_set
            elif task.kind == "regression":
                assert np.isfinite(float(lab))
            else:
                assert isinstance(lab, int) and 0 <= lab < len(s.words)
        assert pickle.loads(pickle.dumps(labs)) == labs
    clone = pickle.loads(pickle.dumps(task))
    assert clone == task and clone.labels(sents[0]) == task.labels(sents[0])


def test_label_sets():
    assert get_task("upos").label_set == UPOS_TAGS
    assert len(UD_DEPRELS) == 37


def test_register_errors():
    with pytest.raises(ConfigError, match="already registered"):
        @register_task("upos")
        class Other(ProbeTask):
            def labels(self, sentence):
                return []

    with pytest.raises(ConfigError, match="kind 'ranking'"):
        @register_task("bad-kind-task")
        class Bad(ProbeTask):
            kind = "ranking"

    with pytest.raises(ConfigError, match="ProbeTask subclass"):
        register_task("not-a-task")(Registry)


def test_task_returning_wrong_length_is_named(sents):
    class Short(ProbeTask):
        name = "short"

        def labels(self, sentence):
            return ["x"]

    with pytest.raises(DataError, match="'short' returned 1 labels for sentence 's1'"):
        task_labels(Short(), sents)


def _readme_example() -> str:
    """The custom-task example exactly as the README shows it."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    marker = "from probes.probing import ProbeTask, register_task"
    block = text[text.index(marker): text.index("```", text.index(marker))]
    # the test registers the name repeatedly across runs in one process
    return block.replace('@register_task("is-capitalised")', '@register_task("is-capitalised", overwrite=True)')


README_EXAMPLE = _readme_example()


def test_readme_custom_task_example(sents, tmp_path, monkeypatch):
    mod = tmp_path / "my_tasks.py"
    mod.write_text(README_EXAMPLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    t = get_task("my_tasks:IsCapitalised")
    assert t.labels(sents[0]) == ["yes", "no", "no", "no", "no", "no"]
    assert get_task("is-capitalised").labels(sents[1]) == ["yes", "no", "no", "no"]
    assert len(README_EXAMPLE.strip().splitlines()) < 30
