"""One self-contained HTML report of a run directory, written for the researcher who opens it.

``python -m analysis.report --run DIR`` finds every tidy table under ``DIR``
(Parquet, or CSV without a Parquet twin) and recognises it by its columns
(transfer, alignment, probe, pair-feature tables; see docs/design.md). It then
runs the analyses the tables allow, writes their tidy results under
``DIR/analysis/`` and their figures under ``DIR/analysis/figures/`` (PNG +
PDF), and writes ``DIR/report.html`` (or ``--out``). ``--dry-run`` lists the
tables found and what would be written, and writes nothing.

This module is the command line; the builder is :func:`analysis.reporting.build_report`
(see :mod:`analysis.reporting` for the page's sections).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.reporting import TABLE_KINDS, ReportConfig, build_report, discover_tables
from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main

__all__ = ["ReportConfig", "discover_tables", "build_report", "build_parser", "parse_config", "plan", "main",
           "TABLE_KINDS"]

PROG = "python -m analysis.report"
DESCRIPTION = "One self-contained HTML report of a run directory, written for the researcher who opens it."


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`ReportConfig` (:func:`crossling.cli.config_parser`)."""
    return config_parser(ReportConfig, prog=PROG, description=DESCRIPTION)


def parse_config(argv: Sequence[str] | None) -> tuple[ReportConfig, Any]:
    """Parse ``argv`` into a validated, resolved :class:`ReportConfig` and the namespace."""
    return parse_command(ReportConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())


def plan(cfg: ReportConfig) -> list[str]:
    """What :func:`build_report` would read and write for ``cfg`` (reads the tables' heads; writes nothing)."""
    run = Path(cfg.run)
    found = discover_tables(run)
    lines = [f"{len(found)} tidy table(s) under {run}" + (":" if len(found) else " (the report would fail)")]
    lines += [f"  {r.kind:18s} {r.path} ({r.rows} rows)" for r in found.itertuples()]
    lines += [f"would write the report {cfg.out}",
              f"would write analysis tables under {run / 'analysis'} and figures under {run / 'analysis' / 'figures'}",
              f"would save this config as {run / 'analysis' / 'report.config.yaml'}"]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.report``."""
    cfg, args = parse_config(argv)
    if args.dry_run:
        return print_dry_run(cfg, plan(cfg))
    out = build_report(cfg)
    if not cfg.quiet:
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
