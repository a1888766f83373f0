"""The test tiers stay coherent: the fast selection names registered markers, and the measured
list of heavy tests in tests/conftest.py points at tests that exist (files move; see docs/testing.md)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from types import SimpleNamespace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _conftest_set(name: str) -> set[str]:
    tree = ast.parse((REPO / "tests" / "conftest.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == name:
            return set(ast.literal_eval(node.value))
    raise AssertionError(f"tests/conftest.py defines no {name}")


def test_fast_selection_uses_registered_markers():
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    fast = re.search(r"^FAST := (.+)$", make, re.M)
    assert fast, "Makefile has no FAST selection"
    used = set(re.findall(r"not (\w+)", fast.group(1)))
    markers = re.search(r"^markers = \[(.*?)^\]", (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M | re.S)
    assert markers, "pyproject.toml registers no markers"
    registered = set(re.findall(r'^\s*"(\w+):', markers.group(1), re.M))
    assert used <= registered, used - registered
    assert {"slow", "integration", "model", "subprocess", "ray", "fuzz", "heavy"} <= used


def test_heavy_list_points_at_existing_tests():
    for entry in sorted(_conftest_set("HEAVY_TESTS")):
        path, _, name = entry.partition("::")
        src = REPO / path
        assert src.is_file(), f"HEAVY_TESTS names {path}, which does not exist (moved?)"
        if name:
            assert re.search(rf"^def {re.escape(name)}\(", src.read_text(encoding="utf-8"), re.M), \
                f"HEAVY_TESTS names {entry}, which does not exist (renamed?)"


def _spawning_helper() -> str:
    return subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True, text=True).stdout


def test_markers_are_set_from_what_a_test_does(request):
    conftest = request.config.pluginmanager.get_plugin(str(REPO / "tests" / "conftest.py"))
    assert conftest is not None

    def calls_a_helper():
        _spawning_helper()

    def pure():
        return 1 + 1

    def fake(fn):
        return SimpleNamespace(function=fn, module=sys.modules[__name__], fixturenames=(), _fixtureinfo=None)

    assert conftest._does(fake(calls_a_helper), conftest._SPAWN)
    assert not conftest._does(fake(pure), conftest._SPAWN)
    # and so this very test, which calls such a helper, is marked
    assert "subprocess" in {m.name for m in request.node.iter_markers()}
