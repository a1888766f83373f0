"""Same units, different languages? Attribution of probes and transfer decisions with captum.

``python -m transfer.attribute units`` - for every (layer, task, language) of an
activation store, fit a probe (the solver of ``python -m probes.train``),
attribute its decisions on the test words to the hidden units with captum
(Integrated Gradients and/or Feature Ablation), aggregate into a per-unit
importance vector (mean ``|attribution|`` of the predicted class over test
words) and keep the top-k units. Then, for every pair of languages, test the
overlap of their top-k sets (Jaccard) and importance vectors (Spearman)
against permutation baselines, and run the causal check: ablate language
A's top-k units in language B's probe and compare the accuracy drop with
ablating random units. Outputs (``--out``, default ``<activations>/attribution``)::

    units.parquet|csv     model, layer, task, lang, probe, method, target, unit, importance, rank
    probes.parquet|csv    model, layer, task, lang, probe, metric (refit_accuracy, <method>_mean_abs_delta),
                          value, n_train, n_test
    pair_features.parquet|csv  lang_a, lang_b, feature (unit_jaccard_k<k>:<task>:<method>@L<layer>, unit_spearman:...),
                          value, source: the overlap as pair features for analysis
    overlap.parquet|csv   model, layer, task, lang_a, lang_b, probe, method, metric, value, p_value,
                          p_adj, p_exact, null_mean, null_sd, k, n_units, n_perm
    ablation.parquet|csv  model, layer, task, lang_a, lang_b, probe, method, metric, value, p_value,
                          p_adj, null_mean, null_sd, k, n_random, mode, n_test
    config.yaml           the resolved configuration
    figures/              overlap-<task>-<method>-k<k>-L<layer>.png, overlap-by-layer-<task>-<method>-k<k>.png,
                          ablation-<task>-<method>-k<k>.png

``python -m transfer.attribute tokens`` - train a transfer model (``head``
regime: a :mod:`transfer.heads` head on a frozen layer; ``finetune`` regime:
:class:`transfer.regimes.finetune.TaskModel`) on a source language and attribute its
decisions on chosen parallel examples to the input tokens with captum's
LayerIntegratedGradients on the input embeddings. Outputs::

    token_attributions.parquet|csv   one row per token (see TOKEN_COLUMNS)
    tokens.html                      highlighted text, parallel examples side by side (an HTML fragment)
    config.yaml

The library is :mod:`transfer.attribution`; this module is the command line
(generated from the two configs by :func:`crossling.cli.config_parser`) and
re-exports the library's public names, as before 0.2. See docs/attribution.md.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.errors import ConfigError
from transfer.attribution import *  # noqa: F403 - the public names of transfer.attribute before 0.2
from transfer.attribution import TokenAttributionConfig, UnitAttributionConfig, run_tokens, run_units
from transfer.attribution import __all__ as _library_all

__all__ = [*_library_all, "build_parser", "main", "COMMANDS"]

PROG = "python -m transfer.attribute"
DESCRIPTION = ("Attribution of probes to hidden units (units) and of transfer models to input tokens (tokens) "
               "with captum.")
#: Sub-command -> (config class, help line).
COMMANDS: dict[str, tuple[type, str]] = {
    "units": (UnitAttributionConfig, "unit attribution of probes, cross-lingual overlap, ablation"),
    "tokens": (TokenAttributionConfig, "token attributions of a transfer model, as highlighted HTML"),
}


def build_parser(command: str | None = None) -> SuiteArgumentParser:
    """The parser of ``python -m transfer.attribute`` (``command=None``) or of one sub-command.

    A sub-command's parser is generated from its config class
    (:func:`crossling.cli.config_parser`): every field is a flag, plus the
    shared ``--config``, ``--set``, ``--dry-run``, ``--debug`` (and
    ``--quiet`` for ``units``). ``tokens`` keeps ``--epochs N``, a shortcut
    for ``finetune: {epochs: N}``.
    """
    if command is None:
        p = SuiteArgumentParser(prog=PROG, description=DESCRIPTION,
                                epilog="Run 'python -m transfer.attribute <command> --help' for its options.")
        sub = p.add_subparsers(dest="command", metavar="{units,tokens}")
        for name, (_, help_line) in COMMANDS.items():
            sub.add_parser(name, help=help_line, add_help=False)
        return p
    if command not in COMMANDS:
        raise ConfigError(f"{PROG}: unknown command {command!r}; use 'units' or 'tokens'.")
    cls, help_line = COMMANDS[command]
    p = config_parser(cls, prog=f"{PROG} {command}", description=help_line[0].upper() + help_line[1:] + ".")
    if command == "tokens":
        p.add_argument("--epochs", type=int, default=None, help="finetune regime: epochs (sets finetune.epochs)")
    return p


def _command(argv: Sequence[str]) -> tuple[str, list[str]]:
    argv = list(argv)
    if argv and argv[0] in COMMANDS:
        return argv[0], argv[1:]
    if any(a in ("-h", "--help") for a in argv):
        build_parser().print_help()
        raise SystemExit(0)
    raise ConfigError(f"{PROG} needs a command: 'units' or 'tokens'. Run '{PROG} --help' for the options.")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m transfer.attribute``."""
    import sys

    command, rest = _command(sys.argv[1:] if argv is None else argv)
    cls = COMMANDS[command][0]
    prog = f"{PROG} {command}"
    cfg: Any
    cfg, args = parse_command(cls, rest, prog=prog, description=COMMANDS[command][1], parser=build_parser(command))
    if command == "tokens" and args.epochs is not None:
        cfg.finetune = {**cfg.finetune, "epochs": int(args.epochs)}
    if args.dry_run:
        plan = (f"unit attribution of {cfg.activations} into {cfg.out}" if command == "units"
                else f"token attributions of {cfg.model} ({cfg.regime} regime, {cfg.task}) into {cfg.out}")
        return print_dry_run(cfg, plan)
    t0 = time.time()
    if command == "units":
        import pandas as pd

        written = run_units(cfg, progress=cfg.progress)
        ov = pd.read_parquet(written["overlap"])
        sig = int((ov["p_adj"] < 0.05).sum()) if len(ov) else 0
        print(f"wrote {cfg.out}: {len(ov)} overlap rows ({sig} with p_adj < 0.05), "
              f"{len(pd.read_parquet(written['ablation']))} ablation rows, {time.time() - t0:.1f}s")
        return 0
    written = run_tokens(cfg)
    if not cfg.quiet:
        print(f"wrote {written['html']} and {written['token_attributions']} ({time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
