"""Token attributions of transfer models (head and finetune regimes) with captum.

Private module of :mod:`transfer.attribute`. A :class:`TokenExplainer` wraps
an encoder, the pooling of the explained unit (a word's subword tokens for
token tasks, all content tokens for pair tasks; mean, as in both regimes of
:mod:`transfer`) and the task head into one differentiable forward function
``(input_ids, attention_mask) -> log-probabilities (batch, n_classes)``, and
explains one decision with captum's ``LayerIntegratedGradients`` on the
encoder's input (word-piece) embedding layer:

* baseline: the same sequence with every non-special token replaced by the
  pad token (special tokens and positions kept), a common reference input;
* attributed output: the log-probability of the explained class (by default
  the model's prediction);
* per-token score: the attribution summed over the embedding dimensions, so
  that ``sum(scores) = output - baseline_output + delta`` (captum's
  convergence delta; completeness of Integrated Gradients).

Explainers are built from a fine-tuned :class:`transfer.regimes.finetune.TaskModel`
(:func:`finetune_explainer`) or from a frozen :class:`probes.models.LoadedModel`
plus a fitted :mod:`transfer.heads` head on one layer or a layer mix
(:func:`head_explainer`); the head's standardisation is part of the forward function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from crossling.errors import ConfigError, DataError
from crossling.registry import Registry
from crossling.types import Sentence
from transfer.attribution._html import TokenAttribution

__all__ = [
    "TokenExplainer",
    "HEAD_ADAPTERS",
    "finetune_explainer",
    "head_explainer",
    "train_head_model",
    "train_finetune_model",
    "explained_word",
]


class TokenExplainer:
    """Encoder + unit pooling + head as one forward function, explained with LayerIntegratedGradients.

    Parameters
    ----------
    encoder : torch.nn.Module
        A Hugging Face encoder (``get_input_embeddings()`` is the attributed layer).
    tokenizer : fast tokenizer
    hidden : callable
        ``hidden(input_ids, attention_mask) -> (batch, seq, dim)`` tensor (or
        ``(batch, n_layers, seq, dim)`` for a layer mix) the head reads.
    head : callable
        ``head(units) -> (batch, n_classes)`` logits for pooled units.
    task : transfer.tasks.DownstreamTask
    model, regime, layer : str
        Labels of the results.
    prefix : str
    max_length : int
    """

    def __init__(self, encoder: Any, tokenizer: Any, hidden: Callable[..., Any], head: Callable[[Any], Any],
                 task: Any, *, model: str, regime: str, layer: str, prefix: str = "", max_length: int = 128):
        self.encoder = encoder.eval()
        self.tokenizer = tokenizer
        self.hidden = hidden
        self.head = head
        self.task = task
        self.model = model
        self.regime = regime
        self.layer = str(layer)
        self.prefix = prefix
        self.max_length = int(max_length)
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = int(pad) if pad is not None else 0

    # -- forward ------------------------------------------------------------
    def _inputs(self, sentence: Sentence, unit: int | None) -> tuple[Any, Any, Any, Any, int]:
        import torch

        from probes.extraction.encode import tokenize_sentences

        tok = tokenize_sentences(self.tokenizer, [sentence], prefix=self.prefix, max_length=self.max_length)[0]
        n = len(tok.ids)
        if self.task.kind == "pair":
            pos = tok.content if tok.content.size else np.arange(n)
            unit = -1
        else:
            if not sentence.words:
                raise DataError(f"Sentence {sentence.sent_id!r} ({sentence.lang}) has no words to explain for "
                                f"the token task {self.task.name!r}.")
            unit = explained_word(sentence) if unit is None else int(unit)
            if not 0 <= unit < len(sentence.words):
                raise ConfigError(f"Word {unit} does not exist in sentence {sentence.sent_id!r} "
                                  f"({len(sentence.words)} words; 0-based).")
            pos = tok.word_tokens[unit]
            if pos.size == 0:
                raise DataError(f"Word {unit} of sentence {sentence.sent_id!r} was cut by truncation "
                                f"(max_length {self.max_length}); choose an earlier word or raise max_length.")
        P = np.zeros(n, dtype=np.float32)
        P[pos] = 1.0 / len(pos)
        ids = torch.from_numpy(tok.ids[None, :].copy())
        special = np.ones(n, dtype=bool)
        special[tok.content] = False
        base = tok.ids.copy()
        base[~special] = self.pad_id
        return ids, torch.from_numpy(base[None, :]), torch.ones_like(ids), torch.from_numpy(P), unit

    def forward_fn(self, pool: Any) -> Callable[..., Any]:
        """``f(input_ids, attention_mask) -> (batch, n_classes)`` log-probabilities of the unit pooled by ``pool``."""
        import torch

        def f(input_ids: Any, attention_mask: Any) -> Any:
            hs = self.hidden(input_ids, attention_mask)
            units = torch.einsum("...td,t->...d", hs, pool)
            return torch.log_softmax(self.head(units), dim=-1)

        return f

    def explain(self, sentence: Sentence, *, unit: int | None = None, target: str | int = "predicted",
                n_steps: int = 50, group: str | None = None) -> TokenAttribution:
        """Attribute one decision to the input tokens.

        Parameters
        ----------
        sentence : Sentence
            One example (a pair for pair tasks).
        unit : int, optional
            0-based word whose label is explained (token tasks); default
            :func:`explained_word`.
        target : "predicted", "gold" or int
            The explained class: the model's prediction, the gold label, or a class index.
        n_steps : int
            Integration steps (Gauss-Legendre).
        group : str, optional
            Group key of parallel examples (default the sentence id).

        Returns
        -------
        TokenAttribution
        """
        import torch
        from captum.attr import LayerIntegratedGradients

        if n_steps < 2:
            raise ConfigError(f"n_steps must be >= 2, got {n_steps}.")
        ids, base, mask, P, unit = self._inputs(sentence, unit)
        f = self.forward_fn(P)
        with torch.no_grad():
            logp = f(ids, mask)[0]
            logp_base = f(base, mask)[0]
        pred = int(logp.argmax())
        labels = list(self.task.labels)
        if target == "predicted":
            t = pred
        elif target == "gold":
            gold = self.task.gold(sentence)
            g = gold[0] if self.task.kind == "pair" else gold[unit]
            if g not in labels:
                raise DataError(f"Gold label {g!r} of sentence {sentence.sent_id!r} is not in the task's labels "
                                f"{labels}.")
            t = labels.index(g)
        elif isinstance(target, (int, np.integer)) and 0 <= int(target) < len(labels):
            t = int(target)
        else:
            raise ConfigError(f"target must be 'predicted', 'gold' or a class index in [0, {len(labels) - 1}], "
                              f"got {target!r}.")
        lig = LayerIntegratedGradients(f, self.encoder.get_input_embeddings())
        attr, delta = lig.attribute(ids, baselines=base, additional_forward_args=(mask,), target=t,
                                    n_steps=n_steps, return_convergence_delta=True, internal_batch_size=n_steps)
        scores = attr.sum(dim=-1)[0].detach().double().numpy()
        tokens = self.tokenizer.convert_ids_to_tokens(ids[0].tolist())
        tok = None
        word_tokens: list[list[int]] = []
        if sentence.words:
            from probes.extraction.encode import tokenize_sentences

            tok = tokenize_sentences(self.tokenizer, [sentence], prefix=self.prefix, max_length=self.max_length)[0]
            word_tokens = [t_.tolist() for t_ in tok.word_tokens]
        return TokenAttribution(
            model=self.model, regime=self.regime, layer=self.layer, task=self.task.name, lang=sentence.lang,
            example_id=sentence.sent_id, tokens=[str(x) for x in tokens], scores=scores,
            words=[w.form for w in sentence.words], word_tokens=word_tokens, unit=unit, target=labels[t],
            predicted=labels[pred], target_prob=float(torch.exp(logp[t])), output=float(logp[t]),
            baseline_output=float(logp_base[t]), delta=float(delta.reshape(-1)[0]),
            group=group if group is not None else sentence.sent_id,
        )

    def explain_many(self, sentences: Sequence[Sentence], **kw: Any) -> list[TokenAttribution]:
        """:meth:`explain` for each sentence (same options)."""
        return [self.explain(s, **kw) for s in sentences]


def explained_word(sentence: Sentence, label: str | None = None, field: str = "upos") -> int:
    """The word explained by default: the first word whose ``field`` is ``label``, else the root, else word 0."""
    if label is not None:
        for i, w in enumerate(sentence.words):
            if getattr(w, field) == label:
                return i
    for i, w in enumerate(sentence.words):
        if w.deprel == "root" or w.head == 0:
            return i
    return 0


# --------------------------------------------------------------------------- finetune regime


def finetune_explainer(task_model: Any, *, model: str, n_steps: int | None = None) -> TokenExplainer:
    """Explainer of a fine-tuned :class:`transfer.regimes.finetune.TaskModel` (encoder's last layer + linear head)."""
    enc = task_model.encoder

    def hidden(input_ids: Any, attention_mask: Any) -> Any:
        out = enc(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]

    return TokenExplainer(enc, task_model.tokenizer, hidden, task_model.head, task_model.task, model=model,
                          regime="finetune", layer="last", prefix=task_model.prefix,
                          max_length=task_model.max_length)


# --------------------------------------------------------------------------- head regime

#: Adapters from fitted :mod:`transfer.heads` heads to torch functions, keyed by head class name:
#: ``adapter(head) -> (fn(units) -> logits, is_mix)``.
HEAD_ADAPTERS: Registry[Callable[[Any], tuple[Callable[[Any], Any], bool]]] = Registry("head attribution adapter")


@HEAD_ADAPTERS.register("SoftmaxHead")
def _softmax_adapter(head: Any) -> tuple[Callable[[Any], Any], bool]:
    import torch

    if getattr(head, "state_", None) is None:
        raise ConfigError("The softmax head is not fitted; call fit() before explaining it.")
    p = {k: torch.as_tensor(v).detach().float() for k, v in head.state_["params"].items()}
    mean, scale = torch.as_tensor(head.mean_), torch.as_tensor(head.scale_)

    def fn(u: Any) -> Any:
        z = (u - mean) / scale
        if "mix" in p:
            z = torch.einsum("bld,l->bd", z, torch.softmax(p["mix"], dim=0))
        return z @ p["W"] + p["b"]

    return fn, "mix" in p


@HEAD_ADAPTERS.register("RidgeHead")
def _ridge_adapter(head: Any) -> tuple[Callable[[Any], Any], bool]:
    import torch

    if getattr(head, "W_", None) is None:
        raise ConfigError("The ridge head is not fitted; call fit() before explaining it.")
    W = torch.as_tensor(head.W_, dtype=torch.float32)
    mean, scale = torch.as_tensor(head.mean_), torch.as_tensor(head.scale_)

    def fn(u: Any) -> Any:
        return ((u - mean) / scale) @ W[:-1] + W[-1]

    return fn, False


def head_explainer(loaded: Any, head: Any, task: Any, layer: int | str, *, prefix: str = "",
                   max_length: int = 128, final_norm: str = "hf") -> TokenExplainer:
    """Explainer of the head regime: a frozen encoder's layer ``layer`` (or ``"mix"``) + a fitted head.

    Layers are captured with :class:`crossling.layers.LayerCapture` (the suite's
    numbering: 0 = embeddings, i = block i), as in extraction.
    """
    import torch

    from crossling.layers import LayerCapture

    fn, is_mix = HEAD_ADAPTERS.get(type(head).__name__)(head)
    n_blocks = len(LayerCapture(loaded, [0]).blocks)
    if str(layer) == "mix" or is_mix:
        if not is_mix:
            raise ConfigError("layer 'mix' needs a head trained on a layer mix (features of shape (n, n_layers, dim)).")
        layers = list(range(n_blocks + 1))
    else:
        li = int(layer)
        if not 0 <= li <= n_blocks:
            raise ConfigError(f"layer {layer!r} is out of range 0..{n_blocks} for model {loaded.name!r}.")
        layers = [li]
    cap = LayerCapture(loaded, layers, final_norm=final_norm)

    def hidden(input_ids: Any, attention_mask: Any) -> Any:
        hs = cap.run(input_ids=input_ids, attention_mask=attention_mask)
        if len(layers) == 1 and not is_mix:
            return hs[layers[0]]
        return torch.stack([hs[i] for i in layers], dim=1)  # (batch, n_layers, seq, dim)

    return TokenExplainer(loaded.model, loaded.tokenizer, hidden, fn, task, model=loaded.name, regime="head",
                          layer=str(layer), prefix=prefix, max_length=max_length)


# --------------------------------------------------------------------------- training small transfer models


def _unit_labels(task: Any, sentences: Sequence[Sentence]) -> np.ndarray:
    lab = task.label_id()
    return np.array([lab.get(l, -1) for s in sentences for l in task.gold(s)], dtype=np.int64)


def train_head_model(loaded: Any, task: Any, sentences: Sequence[Sentence], layer: int | str, *,
                     head: str = "softmax", head_params: dict[str, Any] | None = None, seed: int = 0,
                     prefix: str = "", max_length: int = 128) -> Any:
    """Fit a :mod:`transfer.heads` head on frozen, mean-pooled layer features of ``sentences``.

    The features are what the head regime reads from an activation store
    (mean over a word's subword tokens; mean over content tokens for pairs),
    computed with :class:`probes.extraction.encode.Encoder`.

    Returns
    -------
    transfer.heads.Head
        The fitted head.
    """
    from probes.extraction.encode import Encoder, tokenize_sentences
    from crossling.layers import LayerCapture
    from transfer.heads import make_head

    n_blocks = len(LayerCapture(loaded, [0]).blocks)
    layers = list(range(n_blocks + 1)) if str(layer) == "mix" else [int(layer)]
    enc = Encoder(loaded, layers, pool="mean")
    toks = tokenize_sentences(loaded.tokenizer, sentences, prefix=prefix, max_length=max_length)
    per: dict[int, dict[int, np.ndarray]] = {li: {} for li in layers}
    for b in enc.encode(toks, [s.sent_id for s in sentences]):
        for li in layers:
            for r, j in enumerate(b.index):
                per[li][int(j)] = b.sentences[li][r][None, :] if task.kind == "pair" else b.words[li][r]
    feats = [np.concatenate([per[li][j] for j in range(len(sentences))]) for li in layers]
    X = feats[0] if len(layers) == 1 else np.stack(feats, axis=1)
    y = _unit_labels(task, sentences)
    if len(y) != len(X):
        raise DataError(f"{len(X)} feature rows for {len(y)} labels; every example needs one label per unit.")
    return make_head(head, len(task.labels), seed=seed, params=head_params).fit(X, y)


def train_finetune_model(loaded: Any, task: Any, sentences: Sequence[Sentence], *, seed: int = 0,
                         options: dict[str, Any] | None = None) -> Any:
    """Fine-tune a copy of the encoder with a task head (:class:`transfer.regimes.finetune.TaskModel`) on CPU/GPU.

    ``options`` are the finetune regime's (:data:`transfer.regimes.finetune.FINETUNE_DEFAULTS`).
    """
    import torch

    from transfer.regimes.finetune import build_task_model, check_options, split_dev

    opts = check_options(dict(options or {}))
    device = opts["device"] or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    tm = build_task_model(loaded, task, opts, seed=seed, device=device)
    sents = list(sentences)
    tr, dv = split_dev(len(sents), float(opts["dev_fraction"]), seed=seed, key="attribution")
    tm.train([sents[i] for i in tr], epochs=int(opts["epochs"]), lr=float(opts["lr"]),
             head_lr=float(opts["head_lr"]), batch_size=int(opts["batch_size"]),
             weight_decay=float(opts["weight_decay"]), seed=seed, min_steps=int(opts["min_steps"]),
             max_steps=opts["max_steps"], warmup_ratio=float(opts["warmup_ratio"]),
             dev=[sents[i] for i in dv], eval_every=int(opts["eval_every"]), patience=int(opts["patience"]))
    tm.encoder.eval()
    if device != "cpu":
        tm.encoder.to("cpu")
        tm.head.to("cpu")
        tm.device = "cpu"
    return tm
