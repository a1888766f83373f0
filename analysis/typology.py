"""Pair features of languages on the command line: ``python -m analysis.typology``.

Writes ``<out>/pair_features.{parquet,csv}`` (columns
:data:`analysis.features.PAIR_COLUMNS`) and the resolved config
``<out>/pair_features.config.yaml``::

    python -m analysis.typology --langs en,de,es,ja --out runs/typology \\
        [--sources uriel,grambank,ud_morph,swadesh,mc4] [--data-dir DIR] \\
        [--alignment runs/align/alignment.parquet --model NAME] [--probes runs/probes/probes.parquet]

``--sources`` also takes ``module:function`` for a source outside the suite.
The library (sources, :func:`pair_features`, :func:`wide_features`, ...) lives
in :mod:`analysis.features`; its names are re-exported here so that ``from
analysis.typology import pair_features`` keeps working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analysis.features import *  # noqa: F403  (the library surface, re-exported for old imports)
from analysis.features import __all__ as _FEATURES_ALL
from analysis.features import DEFAULT_SOURCES, FEATURE_SOURCES, pair_features
from analysis.features._common import check_langs
from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.config import Options, save_config
from crossling.errors import ConfigError
from crossling.paths import resolve_data_dir
from crossling.tables import write_table

__all__ = [*_FEATURES_ALL, "TypologyConfig", "build_parser", "main"]

PROG = "python -m analysis.typology"
DESCRIPTION = "Compute pair features (typology, lexicon, data size, model similarity)."


@dataclass
class TypologyConfig:
    """Configuration of ``python -m analysis.typology`` (YAML keys = field names).

    Attributes
    ----------
    langs : list of str
        Languages (ISO 639-1 or 639-3), at least two.
    out : str
        Output directory; the table is ``<out>/pair_features.{parquet,csv}``.
    sources : list of str
        Feature sources, registered names or ``module:function``; ``alignment``
        and ``probe_transfer`` are added when their tables are given.
    data_dir : str or None
        Data directory (default ``$CROSSLING_DATA`` or ``../shared/data``).
    alignment : str or None
        A ``representations.align`` table to turn into features.
    probes : str or None
        A ``probes.train`` table to turn into features.
    model : str or None
        Which model's rows to use from those tables (needed if several).
    concepticon : str
        PanLex Swadesh list: ``207`` or ``110``.
    include_self : bool
        Also write ``(a, a)`` rows.
    quiet : bool
        Print nothing but errors.
    """

    langs: list[str] = field(default_factory=list)
    out: str = ""
    sources: list[str] = field(default_factory=lambda: list(DEFAULT_SOURCES))
    data_dir: str | None = None
    alignment: str | None = None
    probes: str | None = None
    model: str | None = None
    concepticon: str = "207"
    include_self: bool = False
    quiet: bool = False

    _parameter_constraints = {"concepticon": [Options(("207", "110"))]}

    def validate(self) -> None:
        """Check the values once; raise :class:`ConfigError` naming the key."""
        if not self.langs:
            raise ConfigError("Config key 'langs' is empty; give at least two languages, e.g. --langs en,de.")
        self.langs = check_langs(self.langs, minimum=2)
        if not self.out:
            raise ConfigError("Config key 'out' is empty; give the output directory, e.g. --out runs/typology.")
        if str(self.concepticon) not in ("207", "110"):
            raise ConfigError(f"Config key 'concepticon' must be '207' or '110', got {self.concepticon!r}.")
        if not self.sources:
            raise ConfigError(f"Config key 'sources' is empty; choose from {FEATURE_SOURCES.names()}.")
        for name in self.sources:
            FEATURE_SOURCES.get(name)
        for key in ("alignment", "probes"):
            path = getattr(self, key)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"Config key {key!r}: table {path!r} does not exist; "
                                  f"give the path of a .parquet/.csv table (--{key} PATH).")

    def resolved(self) -> TypologyConfig:
        """This config with the data directory filled in (what is saved beside the table)."""
        return dataclasses.replace(self, data_dir=str(resolve_data_dir(self.data_dir)))

    def resolved_sources(self) -> tuple[list[str], dict[str, dict[str, object]]]:
        """Sources to run and their options."""
        sources = list(self.sources)
        options: dict[str, dict[str, object]] = {}
        if "swadesh" in sources:
            options["swadesh"] = {"concepticon": str(self.concepticon)}
        for key, name in (("alignment", "alignment"), ("probes", "probe_transfer")):
            if getattr(self, key) is not None:
                if name not in sources:
                    sources.append(name)
                options[name] = {"table": getattr(self, key), "model": self.model}
            elif name in sources:
                raise ConfigError(f"Source {name!r} needs its table: pass --{key} PATH.")
        return sources, options


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`TypologyConfig` (:func:`crossling.cli.config_parser`)."""
    return config_parser(TypologyConfig, prog=PROG, description=DESCRIPTION,
                         epilog=f"available sources: {', '.join(FEATURE_SOURCES.names())} (or module:function)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.typology``."""
    cfg, args = parse_command(TypologyConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())
    sources, options = cfg.resolved_sources()
    if args.dry_run:
        return print_dry_run(cfg, [f"would compute sources {sources} for {len(cfg.langs)} languages "
                                   f"({len(cfg.langs) * (len(cfg.langs) - 1)} ordered pairs)",
                                   f"would write {Path(cfg.out) / 'pair_features'}.{{parquet,csv}} and its config"])
    df = pair_features(cfg.langs, sources, data_dir=cfg.data_dir, options=options, include_self=cfg.include_self)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    pq, _ = write_table(df, out / "pair_features")
    save_config(cfg, out / "pair_features.config.yaml")
    if not cfg.quiet:
        n_nan = int(df["value"].isna().sum())
        print(f"wrote {pq} ({len(df)} rows, {df['feature'].nunique()} features, {n_nan} missing values)")
    return 0




if __name__ == "__main__":
    raise SystemExit(run_main(main))
