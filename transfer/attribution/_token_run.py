"""The token attribution run: train a transfer model on ``src``, explain chosen parallel examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossling.errors import ConfigError, DataError
from transfer.attribution._config import TokenAttributionConfig
from transfer.attribution._html import TokenAttribution, render_token_html, token_table
from transfer.attribution._tokens import (
    explained_word,
    finetune_explainer,
    head_explainer,
    train_finetune_model,
    train_head_model,
)

__all__ = ["token_attribution_run", "run_tokens"]


def _examples(cfg: TokenAttributionConfig) -> tuple[list[Any], dict[str, list[Any]]]:
    """(training examples of src, explained examples per language)."""
    from transfer.tasks import get_task

    task = get_task(cfg.task)
    langs = list(dict.fromkeys(cfg.langs or [cfg.src]))
    if cfg.corpus == "xtreme":
        from crossling.paths import resolve_data_dir

        data_dir = str(resolve_data_dir(cfg.data_dir))
        pools = {lang: task.pools(data_dir, lang, split_seed=cfg.seed) for lang in set(langs) | {cfg.src}}
        train = list(pools[cfg.src].train)
        shown = {lang: list(pools[lang].test) for lang in langs}
    else:
        if task.kind == "pair":
            raise ConfigError(f"Task {cfg.task!r} is a pair task; its examples come from --corpus xtreme.")
        from probes.readers.corpora import load_corpus

        corpus = load_corpus(cfg.corpus, cfg.data_dir, langs=sorted(set(langs) | {cfg.src}))
        shown = {lang: list(corpus.sentences[lang]) for lang in langs}
        train = list(corpus.sentences[cfg.src])
    id_sets = {lang: {s.sent_id for s in shown[lang]} for lang in langs}
    ids_common = [s.sent_id for s in shown[langs[0]] if all(s.sent_id in id_sets[lang] for lang in langs[1:])]
    if cfg.examples:
        missing = {lang: [e for e in cfg.examples if e not in id_sets[lang]] for lang in langs}
        missing = {k: v for k, v in missing.items() if v}
        if missing:
            raise ConfigError(f"Example id(s) not found: {missing}. Available ids start with {ids_common[:5]}.")
        chosen = list(cfg.examples)
    else:
        if not ids_common:
            raise DataError(f"No example id is shared by languages {langs} of corpus {cfg.corpus!r}; "
                            "pass --examples ID,... per language or use a parallel corpus.")
        chosen = ids_common[: cfg.n_examples]
    held_out = set(chosen)
    train = [s for s in train if s.sent_id not in held_out]
    if cfg.train_cap is not None:
        train = train[: cfg.train_cap]
    if not train:
        raise DataError(f"No training example left for {cfg.src!r} after holding out the explained examples.")
    by_id = {lang: {s.sent_id: s for s in shown[lang]} for lang in langs}
    return train, {lang: [by_id[lang][e] for e in chosen] for lang in langs}


def token_attribution_run(cfg: TokenAttributionConfig, *, loaded: Any = None) -> list[TokenAttribution]:
    """Train the transfer model of ``cfg`` on ``src`` and explain the chosen examples in every language.

    Parameters
    ----------
    cfg : TokenAttributionConfig
    loaded : probes.models.LoadedModel, optional
        An already loaded model (default: ``load_model(cfg.model)``).

    Returns
    -------
    list of TokenAttribution
        Grouped by example id (parallel examples share ``group``).
    """
    from crossling.layers import LayerCapture
    from probes.models import load_model
    from transfer.tasks import get_task

    task = get_task(cfg.task)
    train, shown = _examples(cfg)
    loaded = loaded if loaded is not None else load_model(cfg.model, seed=cfg.seed)
    if cfg.regime == "head":
        n_blocks = len(LayerCapture(loaded, [0]).blocks)
        from transfer.features import parse_layer

        try:
            layer = parse_layer(cfg.layer, list(range(n_blocks + 1)))
        except ConfigError:
            raise ConfigError(f"layer {cfg.layer!r} is out of range for {loaded.name!r} (0..{n_blocks}, last, mix).") from None
        head = train_head_model(loaded, task, train, layer, head=cfg.head, seed=cfg.seed, prefix=cfg.prefix,
                                max_length=cfg.max_length)
        ex = head_explainer(loaded, head, task, layer, prefix=cfg.prefix, max_length=cfg.max_length)
    else:
        tm = train_finetune_model(loaded, task, train, seed=cfg.seed,
                                  options={"max_length": cfg.max_length, "prefix": cfg.prefix, **cfg.finetune})
        ex = finetune_explainer(tm, model=loaded.name)
    out: list[TokenAttribution] = []
    for i in range(len(next(iter(shown.values())))):
        for sents in shown.values():
            s = sents[i]
            unit = explained_word(s, cfg.word_label, task.label_field) if task.kind == "token" else None
            out.append(ex.explain(s, unit=unit, target=cfg.target, n_steps=cfg.n_steps,
                                  group=s.sent_id))
    return out


def run_tokens(cfg: TokenAttributionConfig, *, loaded: Any = None) -> dict[str, Path]:
    """Run :func:`token_attribution_run` and write the token table, ``tokens.html`` and the config."""
    from crossling.config import save_config
    from crossling.io import DirLock, atomic_write_text
    from crossling.tables import write_table

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    with DirLock(out):
        attrs = token_attribution_run(cfg, loaded=loaded)
        table = token_table(attrs)
        pq = write_table(table, out / "token_attributions")[0]
        html_path = out / "tokens.html"
        atomic_write_text(html_path, render_token_html(
            attrs, level=cfg.level, title=f"Token attributions: {cfg.task}, {cfg.regime} regime, trained on {cfg.src}"))
        save_config(cfg, out / "config.yaml")
    return {"token_attributions": pq, "html": html_path}
