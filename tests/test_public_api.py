"""The public surface of every package and module, checked by walking the packages (no hand-kept list).

Replaces the hand-picked "public names import" tests that covered a few modules each.
For every module found on disk by :mod:`suite_modules`:

- importing it emits no :class:`DeprecationWarning` from the suite (it uses no old path);
- every name in its ``__all__`` resolves (an attribute, or a submodule as ``from pkg import *``
  would load it) and is documented: modules, classes and functions carry a docstring, constants a
  ``#:``/``#`` comment, an attribute docstring or a mention in their module's docstring;
- each top-level package declares ``__all__``.

Every deprecated shim (a module whose body is ``alias_module(__name__, "new.path")``) must warn
when imported, name the new path, and be the very same module object as the new path.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite_modules import REPO, TOP_PACKAGES, real_modules, shim_modules  # noqa: E402

REAL = real_modules()
SHIMS = shim_modules()

#: Public names allowed to lack documentation (by name), and modules whose ``main`` may lack a docstring
#: (by the last part of their name). Both empty since the #19 layout: keep them so.
KNOWN_UNDOCUMENTED: set[str] = set()
MAIN_UNDOCUMENTED: set[str] = set()


# --------------------------------------------------------------------------- the walk itself


def test_the_walk_finds_the_suite():
    names = {m.name for m in REAL}
    assert set(TOP_PACKAGES) <= names
    assert "crossling.errors" in names and "crossling._compat" in names
    assert len(REAL) > 60, len(REAL)
    assert not any(m.name.endswith("__main__") for m in REAL + SHIMS)


# --------------------------------------------------------------------------- no deprecated path in use

_IMPORT_ALL = r"""
import importlib, json, sys, warnings
repo, names = sys.argv[1], sys.argv[2:]
bad = {}
for name in names:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            importlib.import_module(name)
        except Exception as exc:  # reported, not raised: one broken module must not hide the rest
            bad.setdefault(name, []).append(f"import failed: {type(exc).__name__}: {exc}")
            continue
    for w in rec:
        if not issubclass(w.category, DeprecationWarning):
            continue
        ours = "moved to `" in str(w.message) or (w.filename.startswith(repo) and "/.venv/" not in w.filename)
        if ours:
            bad.setdefault(name, []).append(f"{w.filename}:{w.lineno}: {w.message}")
print(json.dumps(bad))
"""


def test_every_module_imports_without_deprecation_warning():
    """A fresh interpreter imports each real module in turn; none may reach a deprecated path."""
    names = [m.name for m in REAL]
    out = subprocess.run([sys.executable, "-c", _IMPORT_ALL, str(REPO), *names], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    bad = json.loads(out.stdout.strip().splitlines()[-1])
    assert bad == {}, json.dumps(bad, indent=1)


# --------------------------------------------------------------------------- deprecated shims


def test_shims_are_found():
    # phase 1 left the old probes.* plumbing paths as shims; the walk must see them
    assert any(s.name == "probes.errors" and s.alias_of == "crossling.errors" for s in SHIMS), SHIMS


@pytest.mark.parametrize("shim", SHIMS, ids=lambda s: s.name)
def test_shim_warns_and_is_the_new_module(shim):
    new = importlib.import_module(shim.alias_of)
    saved = sys.modules.pop(shim.name, None)
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            old = importlib.import_module(shim.name)
    finally:
        if saved is not None:
            sys.modules[shim.name] = saved
    messages = [str(w.message) for w in rec if issubclass(w.category, DeprecationWarning)]
    assert any(shim.alias_of in msg and shim.name in msg for msg in messages), messages
    assert old is new
    assert sys.modules[shim.name] is new
    parent, _, child = shim.name.rpartition(".")
    assert getattr(sys.modules[parent], child) is new


# --------------------------------------------------------------------------- __all__


@pytest.mark.parametrize("top", TOP_PACKAGES)
def test_top_level_package_declares_all(top):
    pkg = importlib.import_module(top)
    assert isinstance(getattr(pkg, "__all__", None), (list, tuple)), f"{top}/__init__.py has no __all__"
    assert pkg.__doc__ and pkg.__doc__.strip(), f"{top}/__init__.py has no docstring"


def _resolve(mod, name: str):
    if hasattr(mod, name):
        return getattr(mod, name)
    if hasattr(mod, "__path__"):  # `from pkg import *` loads a submodule named in __all__
        try:
            return importlib.import_module(f"{mod.__name__}.{name}")
        except ModuleNotFoundError:
            pass
    raise AttributeError(f"{mod.__name__}.__all__ names {name!r}, which does not resolve")


def _own_doc(obj) -> str | None:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc and doc.startswith(obj.__name__ + "("):
        return None  # the signature dataclasses writes for a class without a docstring
    return doc if isinstance(doc, str) and doc.strip() else None


def _module_source(modname: str) -> str | None:
    spec = importlib.util.find_spec(modname)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin).read_text(encoding="utf-8")


def _constant_documented(modname: str, name: str, depth: int = 0) -> bool:
    """Whether ``name`` is documented where it is assigned (following ``from x import name``)."""
    src = _module_source(modname)
    if src is None or depth > 6:
        return False
    tree = ast.parse(src)
    doc = ast.get_docstring(tree) or ""
    if re.search(rf"\b{re.escape(name)}\b", doc):
        return True
    lines = src.splitlines()
    body = tree.body
    for i, st in enumerate(body):
        if isinstance(st, ast.Assign):
            targets = [t.id for t in st.targets if isinstance(t, ast.Name)]
        elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            targets = [st.target.id]
        else:
            targets = []
        if name in targets:
            nxt = body[i + 1] if i + 1 < len(body) else None
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                return True  # attribute docstring
            above = lines[st.lineno - 2].strip() if st.lineno >= 2 else ""
            return above.startswith("#") or "#" in lines[st.lineno - 1]
    for st in ast.walk(tree):  # re-exported: look where it comes from
        if isinstance(st, ast.ImportFrom) and any((a.asname or a.name) == name for a in st.names):
            pkg = modname if _is_package(modname) else modname.rpartition(".")[0]
            base = importlib.util.resolve_name("." * st.level + (st.module or ""), pkg) if st.level else st.module
            original = next(a.name for a in st.names if (a.asname or a.name) == name)
            if base and _constant_documented(base, original, depth + 1):
                return True
            if base and (importlib.util.find_spec(f"{base}.{original}") if _is_package(base) else None):
                return True  # a submodule, documented by its own docstring
    for st in ast.walk(tree):  # `from x import *` re-exports: look in x
        if isinstance(st, ast.ImportFrom) and any(a.name == "*" for a in st.names):
            pkg = modname if _is_package(modname) else modname.rpartition(".")[0]
            base = importlib.util.resolve_name("." * st.level + (st.module or ""), pkg) if st.level else st.module
            if base and _constant_documented(base, name, depth + 1):
                return True
    for st in ast.walk(tree):  # a lazy surface: {"NAME": "defining.module", ...}
        if isinstance(st, ast.Dict):
            for k, v in zip(st.keys, st.values):
                if (isinstance(k, ast.Constant) and k.value == name and isinstance(v, ast.Constant)
                        and isinstance(v.value, str) and v.value != modname
                        and _constant_documented(v.value, name, depth + 1)):
                    return True
    return False


def _is_package(modname: str) -> bool:
    spec = importlib.util.find_spec(modname)
    return bool(spec and spec.submodule_search_locations is not None)


def _undocumented(mod) -> list[str]:
    out = []
    for name in mod.__all__:
        obj = _resolve(mod, name)
        if name == "__version__":
            continue
        if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj):
            if _own_doc(obj) is None:
                out.append(name)
        elif not _constant_documented(mod.__name__, name):
            out.append(name)
    return out


WITH_ALL = [m for m in REAL if "__all__" in m.path.read_text(encoding="utf-8")]


@pytest.mark.parametrize("module", WITH_ALL, ids=lambda m: m.name)
def test_all_names_resolve_and_are_documented(module):
    mod = importlib.import_module(module.name)
    if not hasattr(mod, "__all__"):
        pytest.skip("mentions __all__ without defining it")
    names = list(mod.__all__)
    assert all(isinstance(n, str) for n in names), names
    assert len(names) == len(set(names)), f"{module.name}.__all__ repeats a name"
    for name in names:
        assert _resolve(mod, name) is not None, f"{module.name}.{name} is None"
    assert _own_doc(mod) is not None, f"{module.name} has no module docstring"
    last = module.name.rpartition(".")[2]
    missing = _undocumented(mod)
    unknown = [n for n in missing if n not in KNOWN_UNDOCUMENTED and not (n == "main" and last in MAIN_UNDOCUMENTED)]
    assert not unknown, (f"{module.name}: undocumented public names {unknown} (give each a docstring, "
                         "or a `#:` comment above a constant)")
