"""The ``>>>`` examples in the docstrings of every module run and give what they show.

Modules are found by walking the packages on disk (tests/suite_modules.py), so a new module's
examples run the moment it exists. An example that needs real data or a model says
``# doctest: +SKIP``; one that is wrong today is listed in :data:`KNOWN_BROKEN` with a reason.
Options: ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``.
"""

from __future__ import annotations

import doctest
import importlib
import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite_modules import real_modules  # noqa: E402

#: Modules whose examples fail today, by dotted name -> reason (xfailed, not skipped).
#: Empty on main at the time of writing: every example of every module passes.
KNOWN_BROKEN: dict[str, str] = {}

WITH_EXAMPLES = [m for m in real_modules() if ">>>" in m.path.read_text(encoding="utf-8")]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_examples_are_found():
    assert len(WITH_EXAMPLES) >= 40, [m.name for m in WITH_EXAMPLES]


@pytest.mark.parametrize("module", WITH_EXAMPLES, ids=lambda m: m.name)
def test_docstring_examples(module, request, tmp_path, monkeypatch):
    if module.name in KNOWN_BROKEN:
        request.applymarker(pytest.mark.xfail(strict=False, reason=KNOWN_BROKEN[module.name]))
    monkeypatch.chdir(tmp_path)  # an example that writes a file leaves nothing in the checkout
    mod = importlib.import_module(module.name)
    tests = [t for t in doctest.DocTestFinder().find(mod) if t.examples]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = io.StringIO()
    for test in tests:
        runner.run(test, out=report.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, report.getvalue()
