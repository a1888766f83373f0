import pytest

from crossling.errors import ConfigError, DataError
from transfer.tasks import TASKS, get_task


@pytest.mark.parametrize("name", TASKS.names())
def test_every_task_conforms(name, xtreme_dir):
    """Common check over every registered task: labels in the label set, pools disjoint, deterministic."""
    task = get_task(name)
    assert task.kind in ("token", "pair") and len(task.labels) >= 2
    p = task.pools(xtreme_dir, "de", pool_cap=None, test_cap=None)
    assert p.train and p.test
    for s in p.train + p.test:
        gold = task.gold(s)
        assert gold and all(l in task.labels for l in gold)
        if task.kind == "token":
            assert len(gold) == len(s.words)
        else:
            assert s.text_b is not None
    assert {s.sent_id for s in p.train}.isdisjoint({s.sent_id for s in p.test}) or p.train_from == "train"
    q = task.pools(xtreme_dir, "de", pool_cap=None, test_cap=None)
    assert [s.sent_id for s in q.train] == [s.sent_id for s in p.train]


def test_pos_reader_and_dev_split_fallback(xtreme_dir):
    pos = get_task("pos")
    en = pos.pools(xtreme_dir, "en")
    assert (en.train_from, en.test_from) == ("train", "dev")
    assert en.train[0].words[0].upos in pos.labels
    de = pos.pools(xtreme_dir, "de")  # no train file: dev split by index
    assert (de.train_from, de.test_from) == ("dev[train-part]", "dev[test-part]")
    assert {s.sent_id for s in de.train}.isdisjoint({s.sent_id for s in de.test})
    assert len(de.train) + len(de.test) == 40


def test_ner_reader_tags(xtreme_dir):
    ner = get_task("ner")
    p = ner.pools(xtreme_dir, "fr", pool_cap=5, test_cap=7)
    assert len(p.train) == 5 and len(p.test) == 7
    tags = {w.tag for s in p.train + p.test for w in s.words}
    assert tags <= set(ner.labels)
    assert ner.metric == "entity_f1" and ner.primary == "f1"


@pytest.mark.parametrize("name", ["nli", "paws"])
def test_parallel_split_never_tests_on_translations_of_training_examples(name, xtreme_dir):
    task = get_task(name)
    pools = {l: task.pools(xtreme_dir, l, pool_cap=6, test_cap=None) for l in ("en", "de", "fr")}
    for src in pools:
        train_ids = {s.sent_id for s in pools[src].train}
        for tgt in pools:
            test_ids = {s.sent_id for s in pools[tgt].test}
            assert train_ids.isdisjoint(test_ids), (src, tgt)
    # same indices in every language (the cap too)
    ids = {l: [s.sent_id for s in p.train] for l, p in pools.items()}
    assert ids["en"] == ids["de"] == ids["fr"]
    if name == "nli":
        # premise triples (lines 3g..3g+2) stay on one side
        groups_train = {int(s.sent_id) // 3 for s in task.pools(xtreme_dir, "en").train}
        groups_test = {int(s.sent_id) // 3 for s in task.pools(xtreme_dir, "en").test}
        assert groups_train.isdisjoint(groups_test)


def test_missing_language_and_unknown_task(xtreme_dir):
    with pytest.raises(DataError, match="Present"):
        get_task("pos").pools(xtreme_dir, "ja")
    with pytest.raises(ConfigError, match="Available: ner, nli, paws, pos"):
        get_task("posx")


def test_unlabelled_split_is_rejected(tmp_path):
    d = tmp_path / "xtreme" / "udpos"
    d.mkdir(parents=True)
    (d / "dev-en.tsv").write_text("a\nb\n\nc\n", encoding="utf-8")
    with pytest.raises(DataError, match="unlabelled"):
        get_task("pos").read(tmp_path, "en", "dev")
