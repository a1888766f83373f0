"""Every command shows the same shared flags (issue #19: one command-line surface).

The flags are generated from each command's config dataclass
(:func:`crossling.cli.config_parser`), so a command that loses one, or a new
command written by hand, fails here. ``--help`` runs in-process (fast); one
test runs a real ``python -m`` to prove the module entry points are wired.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: command (as users type it after ``python -m``) -> (module holding main, argv prefix, fields it must expose)
COMMANDS: dict[str, tuple[str, list[str], tuple[str, ...]]] = {
    "probes.extract": ("probes.extract", [], ("--out", "--data-dir", "--langs", "--layers", "--overwrite", "--quiet")),
    "probes.train": ("probes.train", [], ("--out", "--langs", "--layers", "--quiet")),
    "probes.data download": ("probes.datasets", ["download"], ("--out", "--langs", "--overwrite", "--quiet")),
    "probes.data list": ("probes.datasets", ["list"], ("--data-dir",)),
    "representations.align": ("representations.align", [], ("--out", "--langs", "--layers", "--overwrite", "--quiet")),
    "transfer.run": ("transfer.run", [], ("--out", "--data-dir", "--langs", "--quiet")),
    "transfer.attribute units": ("transfer.attribute", ["units"], ("--out", "--langs", "--quiet")),
    "transfer.attribute tokens": ("transfer.attribute", ["tokens"], ("--out", "--langs", "--quiet")),
    "analysis.typology": ("analysis.typology", [], ("--out", "--data-dir", "--langs", "--quiet")),
    "analysis.calibrate": ("analysis.calibrate", [], ("--out", "--langs", "--quiet")),
    "analysis.recommend": ("analysis.recommend", [], ("--out",)),
    "analysis.report": ("analysis.report", [], ("--out",)),
    "analysis.results": ("analysis.results", [], ("--out", "--overwrite", "--quiet")),
    "analysis.study": ("analysis.study", [], ("--out", "--data-dir", "--langs")),
    "analysis.render_check": ("analysis.render_check", [], ()),
}

#: Flags every command has (crossling.cli.SHARED_FLAGS).
SHARED = ("--config", "--set", "--dry-run", "--debug")


def _help(module: str, prefix: list[str]) -> str:
    main = importlib.import_module(module).main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_info:
        main([*prefix, "--help"])
    assert exit_info.value.code == 0, f"{module} {prefix} --help exited with {exit_info.value.code}"
    return out.getvalue()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_shows_the_shared_flags(command):
    module, prefix, fields = COMMANDS[command]
    text = _help(module, prefix)
    missing = [flag for flag in (*SHARED, *fields) if flag not in text]
    assert not missing, f"python -m {command} --help lacks {missing}"


def test_the_table_names_every_command():
    """A module with a ``__main__`` block that is not in COMMANDS is a command this test forgot."""
    known = {m for m, _, _ in COMMANDS.values()} | {"probes.probing._figures"}  # a plotting convenience
    found = set()
    for top in ("probes", "representations", "transfer", "analysis"):
        for path in (REPO / top).rglob("*.py"):
            if 'if __name__ == "__main__"' in path.read_text(encoding="utf-8") and path.name != "__main__.py":
                found.add(".".join(path.relative_to(REPO).with_suffix("").parts))
    found = {"probes.datasets" if f == "probes.datasets._cli" else f for f in found}
    assert found <= known, f"commands without a CLI-surface check: {sorted(found - known)}"


@pytest.mark.parametrize("command", ["analysis.typology", "representations.align"])
def test_dry_run_prints_the_resolved_config_and_writes_nothing(command, tmp_path):
    module, prefix, _ = COMMANDS[command]
    argv = {"analysis.typology": ["--langs", "en,de", "--out", str(tmp_path / "t")],
            "representations.align": ["--activations", str(tmp_path), "--out", str(tmp_path / "a")]}[command]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = importlib.import_module(module).main([*prefix, *argv, "--dry-run"])
    assert code == 0
    text = out.getvalue()
    assert "would" in text and str(tmp_path) in text
    for key in ("out:", "data_dir:"):
        assert f"{key} null" not in text, f"the resolved config leaves {key} null"
    assert not (tmp_path / "t").exists() and not (tmp_path / "a").exists()


@pytest.mark.subprocess
def test_python_dash_m_entry_point_shows_the_flags():
    r = subprocess.run([sys.executable, "-m", "analysis.typology", "--help"], capture_output=True, text=True,
                       cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    for flag in (*SHARED, "--quiet", "--langs"):
        assert flag in r.stdout


def test_every_study_stage_command_parses_with_its_commands_parser(tmp_path):
    """analysis.study writes command lines for the other commands; each must parse with that command's parser."""
    from analysis.study import parse_config, plan

    cfg, _ = parse_config(["--config", str(REPO / "configs" / "study.yaml"), "--data-dir", str(tmp_path),
                           "--out", str(tmp_path / "study")])
    for stage in plan(cfg):
        i = stage.command.index("-m")
        module, argv = stage.command[i + 1], stage.command[i + 2:]
        mod = importlib.import_module(module)
        if module == "transfer.attribute":
            parser, argv = mod.build_parser(argv[0]), argv[1:]
        else:
            parser = mod.build_parser()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"stage {stage.name}: {module} rejects its command line: {err.getvalue()[-400:]}")
