"""The two attribution configs: :class:`UnitAttributionConfig` and :class:`TokenAttributionConfig`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.config import Interval
from crossling.errors import ConfigError
from transfer.attribution._units import ATTRIBUTION_METHODS, OUTPUTS, PROBE_FITTERS, TARGETS

__all__ = ["UnitAttributionConfig", "TokenAttributionConfig"]


@dataclass
class UnitAttributionConfig:
    """Configuration of ``python -m transfer.attribute units`` (YAML keys = field names).

    Attributes
    ----------
    activations : str
        Activation store (``python -m probes.extract --out``).
    out : str or None
        Output directory (default ``<activations>/attribution``).
    tasks : list of str
        Word-level classification probe tasks (``upos``, ``deprel``, ``morph:Number``, ...).
    layers : str
        ``all`` or e.g. ``0,6,12`` / ``4-8``.
    langs : list of str
        Languages (default: every language of the store).
    probe : str
        ``linear`` (default) or ``mlp`` (:data:`PROBE_FITTERS`).
    methods : list of str
        Attribution methods (:data:`ATTRIBUTION_METHODS`).
    target : str
        ``predicted`` (default) or ``gold``: the class explained per word.
    output : str
        Attributed probe output: ``log_prob`` (default), ``prob``, ``logit``.
    k : list of int
        Sizes of the top-k unit sets (every overlap and ablation is run for each).
    n_perm : int
        Permutation draws of the overlap baselines.
    n_random : int
        Random unit sets of the ablation baseline.
    ablation : str
        ``mean`` (replace by the training mean) or ``zero``.
    ig_steps : int
        Integrated-gradient steps.
    max_attr_words : int or None
        Attribute at most this many test words per cell (a fixed random
        subset); ablation always uses every test word.
    C, max_iter : float, int
        Logistic probe settings (as in ``probes.train``).
    split : list of float
        Train/dev/test fractions of sentences (``probes.train.split_of``).
    min_examples : int
        Skip cells with fewer labelled training words.
    seed : int
    figures : bool
    threads : int or None
        Torch threads.
    progress : bool
        Print one progress line per (layer, task, language).
    """

    activations: str = ""
    out: str | None = None
    tasks: list[str] = field(default_factory=lambda: ["upos"])
    layers: str = "all"
    langs: list[str] = field(default_factory=list)
    probe: str = "linear"
    methods: list[str] = field(default_factory=lambda: ["integrated_gradients"])
    target: str = "predicted"
    output: str = "log_prob"
    k: list[int] = field(default_factory=lambda: [20])
    n_perm: int = 1000
    n_random: int = 50
    ablation: str = "mean"
    ig_steps: int = 32
    max_attr_words: int | None = 2000
    C: float = 1.0
    max_iter: int = 100
    split: list[float] = field(default_factory=lambda: [0.7, 0.1, 0.2])
    min_examples: int = 100
    seed: int = 0
    figures: bool = True
    threads: int | None = None
    progress: bool = True

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "k": [Interval("int", 1, None)],
        "n_perm": [Interval("int", 0, 10**7)],
        "n_random": [Interval("int", 0, 10**6)],
        "ig_steps": [Interval("int", 2, 10**5)],
        "max_attr_words": [Interval("int", 1, None), None],
        "C": [Interval("real", 0, None, closed="neither")],
        "max_iter": [Interval("int", 1, 10**7)],
        "split": [Interval("real", 0, 1)],
        "min_examples": [Interval("int", 1, None)],
        "seed": [Interval("int", 0, 2**32 - 1)],
        "threads": [Interval("int", 1, 4096), None],
    }
    _parameter_each = ('k', 'split')

    def resolved(self) -> UnitAttributionConfig:
        """This config with the default output directory filled in (what is saved beside the results)."""
        if self.out or not self.activations:
            return self
        return dataclasses.replace(self, out=str(Path(self.activations) / "attribution"))

    def validate(self) -> None:
        if not self.activations:
            raise ConfigError("No activation store given: pass --activations DIR (a python -m probes.extract output).")
        PROBE_FITTERS.get(self.probe)
        if not self.methods:
            raise ConfigError("methods is empty; use e.g. --methods integrated_gradients,feature_ablation.")
        for m in self.methods:
            ATTRIBUTION_METHODS.get(m)
        if self.target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}, got {self.target!r}.")
        if self.output not in OUTPUTS:
            raise ConfigError(f"output must be one of {OUTPUTS}, got {self.output!r}.")
        if self.ablation not in ("mean", "zero"):
            raise ConfigError(f"ablation must be 'mean' or 'zero', got {self.ablation!r}.")
        if not self.k or min(self.k) < 1:
            raise ConfigError(f"k must be one or more sizes >= 1, got {self.k}.")
        for name in ("n_perm", "n_random", "ig_steps", "max_iter", "min_examples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.max_attr_words is not None and self.max_attr_words < 1:
            raise ConfigError(f"max_attr_words must be >= 1 or none, got {self.max_attr_words}.")
        if not self.C > 0:
            raise ConfigError(f"C must be > 0, got {self.C}.")
        if len(self.split) != 3 or min(self.split) < 0 or self.split[0] <= 0 or self.split[2] <= 0 \
                or abs(sum(self.split) - 1.0) > 1e-6:
            raise ConfigError(f"split must be three fractions train,dev,test summing to 1, got {self.split}.")
        if not self.tasks:
            raise ConfigError("No task given; pass e.g. --tasks upos,morph:Number.")
        from probes.probing import get_task

        for name in self.tasks:
            t = get_task(name)
            if t.kind != "classification" or t.level != "word":
                raise ConfigError(f"Unit attribution needs word-level classification tasks; {name!r} is "
                                  f"{t.level}-level {t.kind}. Use e.g. upos, deprel or morph:Number.")


@dataclass
class TokenAttributionConfig:
    """Configuration of ``python -m transfer.attribute tokens`` (YAML keys = field names).

    Attributes
    ----------
    model : str
        Model spec (:func:`probes.models.load_model`), e.g. a checkpoint directory.
    regime : str
        ``head`` (frozen encoder + head on ``layer``) or ``finetune``.
    task : str
        Downstream task (:data:`transfer.tasks.TASKS`): ``pos``, ``ner`` (token), ``nli``, ``paws`` (pair),
        or ``package.module:Class``.
    corpus : str
        Where examples come from: a :mod:`probes.readers.corpora` corpus (``sample``,
        ``pud``; token tasks) or ``xtreme`` (the task's pools in ``data_dir``).
    data_dir : str or None
        Data directory (default ``$CROSSLING_DATA`` or ``../shared/data``).
    src : str
        Language the model is trained on.
    langs : list of str
        Languages whose examples are explained (default: ``src`` only).
    examples : list of str
        Ids of the explained (parallel) examples; default the first
        ``n_examples`` ids present in every language.
    n_examples : int
    layer : str
        Head regime: a layer number, ``last`` or ``mix``.
    head : str
        Head regime: a :data:`transfer.heads.HEADS` name.
    finetune : dict
        Finetune regime options (:data:`transfer.finetune.FINETUNE_DEFAULTS`).
    train_cap : int or None
        At most this many training examples of ``src``.
    word_label : str or None
        Token tasks: explain the first word with this gold label (e.g. ``VERB``);
        default the sentence's root, else its first word.
    target : str
        ``predicted`` or ``gold``.
    n_steps : int
        Integration steps.
    level : str
        ``word`` or ``token`` shading in the HTML.
    max_length : int
        Longest input in subword tokens.
    prefix : str
        Prefix of the output file names.
    seed : int
        Random seed.
    out : str
        Output directory.
    quiet : bool
        No "wrote" line.
    """

    model: str = ""
    regime: str = "head"
    task: str = "pos"
    corpus: str = "sample"
    data_dir: str | None = None
    src: str = "en"
    langs: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    n_examples: int = 3
    layer: str = "last"
    head: str = "softmax"
    finetune: dict[str, Any] = field(default_factory=dict)
    train_cap: int | None = None
    word_label: str | None = None
    target: str = "predicted"
    n_steps: int = 50
    level: str = "word"
    max_length: int = 128
    prefix: str = ""
    seed: int = 0
    out: str = ""
    quiet: bool = False

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "n_examples": [Interval("int", 1, None)],
        "train_cap": [Interval("int", 1, None), None],
        "n_steps": [Interval("int", 2, 10**5)],
        "max_length": [Interval("int", 4, None)],
        "seed": [Interval("int", 0, 2**32 - 1)],
    }

    def resolved(self) -> TokenAttributionConfig:
        """This config with the data directory filled in (what is saved beside the results)."""
        from crossling.paths import resolve_data_dir

        return dataclasses.replace(self, data_dir=str(resolve_data_dir(self.data_dir)))

    def validate(self) -> None:
        from transfer.heads import HEADS
        from transfer.tasks import get_task

        if not self.model:
            raise ConfigError("No model given: pass --model SPEC (a checkpoint directory or a model spec).")
        if not self.out:
            raise ConfigError("No output directory given: pass --out DIR.")
        if self.regime not in ("head", "finetune"):
            raise ConfigError(f"regime must be 'head' or 'finetune', got {self.regime!r}.")
        get_task(self.task).check_supports(regime=self.regime, name=self.task)  # declared capabilities
        HEADS.get(self.head)
        if self.target not in ("predicted", "gold"):
            raise ConfigError(f"target must be 'predicted' or 'gold', got {self.target!r}.")
        if self.level not in ("word", "token"):
            raise ConfigError(f"level must be 'word' or 'token', got {self.level!r}.")
        for name in ("n_examples", "max_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.n_steps < 2:
            raise ConfigError(f"n_steps must be >= 2, got {self.n_steps}.")
        if self.train_cap is not None and self.train_cap < 1:
            raise ConfigError(f"train_cap must be >= 1 or none, got {self.train_cap}.")
        s = str(self.layer).strip().lower()
        if s not in ("last", "mix") and not s.lstrip("-").isdigit():
            raise ConfigError(f"layer must be a layer number, 'last' or 'mix', got {self.layer!r}.")
