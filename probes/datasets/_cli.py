"""The ``python -m probes.data download|list`` command line.

Each sub-command's options are generated from its config dataclass
(:class:`~probes.datasets.DownloadConfig`, :class:`~probes.datasets.ListConfig`)
by :func:`crossling.cli.config_parser`, so both share the suite's flags
(``--config``, ``--set``, ``--dry-run``, ``--debug``; ``--quiet`` for
``download``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from crossling.cli import (
    SuiteArgumentParser,
    config_parser,
    parse_command,
    print_dry_run,
)
from crossling.errors import ConfigError, suggest
from probes.datasets._download import (
    DownloadConfig,
    ListConfig,
    _print_listing,
    download,
    list_data,
)
from probes.datasets._resources import RESOURCES

__all__ = ["build_parser", "main", "COMMANDS"]

PROG = "python -m probes.data"

#: Sub-command -> (config class, one-line help).
COMMANDS: dict[str, tuple[type, str]] = {
    "download": (DownloadConfig, "download and install data sets (needs internet or a mirror)"),
    "list": (ListConfig, "list the data files present in a data directory"),
}


def command_parser(command: str) -> SuiteArgumentParser:
    """The generated parser of one sub-command (``download`` or ``list``)."""
    cls, help_text = COMMANDS[command]
    description = help_text[0].upper() + help_text[1:] + "."
    if command == "download":
        description += " Resources: " + "; ".join(f"{n}: {RESOURCES.get(n).description}" for n in RESOURCES.names())
        return config_parser(cls, prog=f"{PROG} download", description=description,
                             aliases={"force": ("--overwrite",)})
    return config_parser(cls, prog=f"{PROG} list", description=description)


def build_parser() -> SuiteArgumentParser:
    """The ``python -m probes.data`` parser (sub-commands ``download`` and ``list``)."""
    p = SuiteArgumentParser(prog=PROG, description="Download the suite's public data sets, or list what a data "
                                                   "directory holds.",
                            epilog=f"Run '{PROG} download --help' or '{PROG} list --help' for their options.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="{download,list}")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
        sub.choices[name] = command_parser(name)  # the generated parser handles the sub-command's flags
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m probes.data``."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    if command not in COMMANDS:
        parser = build_parser()
        if command is None:
            parser.parse_args(args)  # --help prints the commands
        raise ConfigError(f"{PROG}: choose a command: download or list (got {command!r}). "
                          f"Run '{PROG} --help'.{suggest(str(command), list(COMMANDS))}")
    rest = list(args)
    rest.remove(command)
    cls, _ = COMMANDS[command]
    cfg: Any
    cfg, ns = parse_command(cls, rest, prog=f"{PROG} {command}", description="",
                            parser=command_parser(command))
    if command == "list":
        if ns.dry_run:
            return print_dry_run(cfg, f"would list the data files under {cfg.data_dir}")
        _print_listing(list_data(cfg.data_dir), cfg.files, sys.stdout)
        return 0
    if ns.dry_run:
        return print_dry_run(cfg, [f"would download {name} into {cfg.out}" for name in cfg.what])
    rep = download(cfg, log=None if cfg.quiet else sys.stderr)
    n = sum(len(v) for v in rep.installed.values())
    print(f"done: {n} files installed under {cfg.out}"
          f"{'; up to date: ' + ', '.join(rep.up_to_date) if rep.up_to_date else ''}")
    return 0


if __name__ == "__main__":
    from crossling.cli import run_main

    raise SystemExit(run_main(main))
