"""Helpers of the reliability tests: run the suite's CLIs as real child processes, check the error policy.

Starting ``python -m analysis.report`` costs seconds of imports on a small
machine, and the bad-input catalogue runs dozens of commands. :class:`CliServer`
therefore keeps one helper process that has imported the CLI modules'
dependencies once and ``fork()``s a fresh child per command; the child runs the
module exactly as ``python -m <module> <args>`` would (``runpy.run_module`` with
``run_name="__main__"``, its own cwd, environment, stdin/stdout/stderr, exit
status, and Python's default traceback printing for uncaught exceptions).
:func:`run_python_m` runs a genuine ``python -m`` subprocess; a parity test
checks that both give the same exit status and stderr, and setting
``RELIABILITY_REAL_CLI=1`` makes every catalogue case use it.

The policy (:mod:`crossling.cli`, :mod:`crossling.errors`): a bad input ends the
process with the error's documented non-zero exit code and exactly one line on
stderr, ``error: ...``, naming the file, line or parameter and the fix; no
``Traceback`` unless ``--debug`` is given.

Tests record what they tried with pytest's ``record_property`` (``category``,
``item``, ``count``, ``detail``); ``bench/reliability_report.py`` reads them
from the JUnit XML report and renders docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CLI_MODULES", "REPO", "CliResult", "CliServer", "child_env", "policy_problems", "run_python_m"]

REPO = Path(__file__).resolve().parents[1]

# A progress-bar line (tqdm): tolerated on stderr, it is not a message.
_PROGRESS = re.compile(r"\d+%\|.*\|")
# Lines that report a problem (a second message, a warning, a traceback).
_NOISE = re.compile(r"error|warning|exception|traceback", re.IGNORECASE)

#: Every command-line entry point of the suite (``python -m <module>``).
CLI_MODULES = (
    "probes.extract",
    "probes.data",
    "probes.train",
    "representations.align",
    "transfer.run",
    "transfer.attribute",
    "analysis.recommend",
    "analysis.report",
)


@dataclass
class CliResult:
    """Exit status and output of one command."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit {self.returncode}\n--- stderr ---\n{self.stderr[-3000:]}"
                f"\n--- stdout ---\n{self.stdout[-1500:]}")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI child: repo on ``PYTHONPATH``, one thread, no hub access."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(extra or {})
    return env


def run_python_m(module: str, args: list[str], *, cwd: str | Path | None = None,
                 env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
    """Run ``python -m module *args`` as a genuine subprocess."""
    cmd = [sys.executable, "-m", module, *map(str, args)]
    r = subprocess.run(cmd, cwd=str(cwd or REPO), env=child_env(env), capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    return CliResult(cmd, r.returncode, r.stdout, r.stderr)


class CliServer:
    """One pre-importing helper process that forks a fresh child per command.

    Parameters
    ----------
    preload : sequence of str
        Modules the helper imports before forking (their import time is paid once).
    """

    def __init__(self, preload: tuple[str, ...] = CLI_MODULES):
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve", *preload], cwd=str(REPO),
            env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1,
        )
        hello = self.proc.stdout.readline() if self.proc.stdout else ""
        if not hello.startswith("{"):
            raise RuntimeError(f"CLI helper failed to start: {hello!r}")
        self.preloaded = json.loads(hello)

    def run(self, module: str, args: list[str], *, cwd: str | Path | None = None,
            env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
        """Run ``module`` as ``python -m module *args`` in a forked child; returns its result."""
        if not self.preloaded.get(module, False):  # not importable in the helper: let Python report it
            return run_python_m(module, args, cwd=cwd, env=env, timeout=timeout)
        req = {"module": module, "args": [str(a) for a in args], "cwd": str(cwd or REPO),
               "env": env or {}, "timeout": timeout}
        with self._lock:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("CLI helper died")
        rep = json.loads(line)
        return CliResult([sys.executable, "-m", module, *req["args"]], rep["rc"], rep["stdout"], rep["stderr"])

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def policy_problems(res: CliResult, code: int, needles: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with ``res`` under the error policy (empty list = compliant).

    Parameters
    ----------
    res : CliResult
    code : int
        The documented exit code expected (:mod:`crossling.errors`).
    needles : tuple of str
        Substrings the error line must contain (file, line, parameter, fix), case-insensitive.
    """
    problems = []
    if res.returncode != code:
        problems.append(f"exit status {res.returncode}, expected {code}")
    if "Traceback" in res.stderr:
        problems.append("a Python traceback is printed without --debug")
    lines = [ln for ln in re.split(r"[\r\n]+", res.stderr) if ln.strip() and not _PROGRESS.search(ln)]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    if len(errors) != 1:
        problems.append(f"{len(errors)} 'error: ' lines on stderr, expected exactly one")
    else:
        if lines[-1] != errors[0]:
            problems.append("the error line is not the last line on stderr")
        # informational lines before the error (what the command was doing) are fine;
        # a second message about a problem is not
        noisy = [ln for ln in lines if ln is not errors[0] and _NOISE.search(ln)]
        if noisy:
            problems.append(f"stderr has other error/warning lines besides the error line, e.g. {noisy[:2]}")
    msg = errors[0] if errors else res.stderr
    for n in needles:
        if n.lower() not in msg.lower():
            problems.append(f"the message does not name {n!r}")
    return problems


# --------------------------------------------------------------------------- the helper process


def _serve(preload: list[str]) -> None:  # pragma: no cover - runs in the helper process
    import importlib
    import runpy
    import signal
    import time
    import traceback

    loaded = {}
    for m in preload:
        try:
            importlib.import_module(m)
            loaded[m] = True
        except BaseException:  # noqa: BLE001 - a module that does not import yet is imported (and fails) in the child
            loaded[m] = False
    proto = sys.stdout
    proto.write(json.dumps(loaded) + "\n")
    proto.flush()
    base_env = dict(os.environ)
    for line in sys.stdin:
        req = json.loads(line)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    devnull = os.open(os.devnull, os.O_RDONLY)
                    os.dup2(devnull, 0)
                    os.dup2(out.fileno(), 1)
                    os.dup2(err.fileno(), 2)
                    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
                    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                    os.setpgid(0, 0)
                    os.chdir(req["cwd"])
                    os.environ.clear()
                    os.environ.update(base_env)
                    os.environ.update(req["env"])
                    sys.path[0] = req["cwd"]
                    sys.argv = [req["module"], *req["args"]]
                    sys.modules.pop(req["module"], None)  # run it fresh as __main__, as python -m does
                    try:
                        runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
                        code = 0
                    except SystemExit as exc:
                        if exc.code is None:
                            code = 0
                        elif isinstance(exc.code, int):
                            code = exc.code
                        else:
                            print(exc.code, file=sys.stderr)
                            code = 1
                    except BaseException:  # noqa: BLE001 - reproduce Python's top-level handler
                        traceback.print_exc()
                        code = 1
                finally:
                    try:
                        sys.stdout.flush()
                        sys.stderr.flush()
                    finally:
                        os._exit(code & 0xFF)
            deadline = time.monotonic() + float(req["timeout"])
            status = None
            while True:
                wpid, st = os.waitpid(pid, os.WNOHANG)
                if wpid:
                    status = st
                    break
                if time.monotonic() > deadline:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    _, status = os.waitpid(pid, 0)
                    break
                time.sleep(0.005)
            rc = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            rep = {"rc": rc, "stdout": out.read().decode("utf-8", "replace"),
                   "stderr": err.read().decode("utf-8", "replace")}
        proto.write(json.dumps(rep) + "\n")
        proto.flush()


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        sys.path[0] = str(REPO)
        _serve(sys.argv[2:])
