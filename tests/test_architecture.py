"""The package's architecture, as checked facts: the layering contract in pyproject.toml holds
(and fails on an upward import), the import graph has no cycles, the worker and the protocol
stay self-contained, and nothing in the project reads outside the repository."""
import ast
import os
import re
import shutil
import subprocess
import sys

import grimp
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINT_IMPORTS = shutil.which("lint-imports") or os.path.join(os.path.dirname(sys.executable), "lint-imports")
# Imports inside functions that are there on purpose (not to dodge a cycle): the grader loads
# hypothesis while the worker boots; the worker imports late, after dropping privileges.
# nbformat and jsonschema are needed only for a notebook and for validating results.
DELIBERATE_LATE_IMPORTS = {("nngrader/engine/grading.py", "hypothesis"),
                           ("nngrader/engine/search.py", "hypothesis"),
                           ("nngrader/engine/inputs.py", "hypothesis"),
                           ("nngrader/engine/memo.py", "hypothesis.internal.entropy"),
                           ("nngrader/engine/submission_files.py", "nbformat"),
                           ("nngrader/frontends/results_schema.py", "jsonschema"),
                           # only a batch draws a progress bar and figures (0.1 s and 0.7 s to import)
                           # and forks a pool of grading processes (grade starts without them)
                           ("nngrader/frontends/batch.py", "tqdm"),
                           ("nngrader/frontends/batch.py", "concurrent.futures"),
                           ("nngrader/frontends/batch.py", "multiprocessing"),
                           ("nngrader/frontends/batch.py", "multiprocessing.util"),
                           ("nngrader/frontends/figures.py", "matplotlib"),
                           ("nngrader/frontends/figures.py", "matplotlib.pyplot")}


def lint_imports(cwd, env=None):
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_layering_contract_holds():
    out = lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 3 kept, 0 broken." in out.stdout


@pytest.mark.parametrize("module,line,broken", [
    ("nngrader/core/limits.py", "from nngrader.frontends import cli", "nngrader.core.limits -> nngrader.frontends.cli"),
    ("nngrader/engine/comparison.py", "from nngrader.kinds import compare",
     "nngrader.engine.comparison -> nngrader.kinds.compare"),
    ("nngrader/engine/hints.py", "import reference.numerics", "nngrader.engine.hints -> reference"),
    ("nngrader/kinds/outputs.py", "from nngrader.kinds import program", "nngrader.kinds.outputs -> nngrader.kinds.program"),
])
def test_an_upward_import_breaks_the_contract(tmp_path, module, line, broken):
    """A copy of the package with one import that breaks a rule: lint-imports names the chain."""
    shutil.copytree(os.path.join(ROOT, "nngrader"), tmp_path / "nngrader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(os.path.join(ROOT, "reference"), tmp_path / "reference",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), tmp_path / "pyproject.toml")
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{line}\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = lint_imports(str(tmp_path), env)
    assert out.returncode == 1, out.stdout
    assert re.search(r"Contracts: \d+ kept, [1-9]\d* broken", out.stdout) and broken in out.stdout, out.stdout


def test_no_import_cycles():
    graph = grimp.build_graph("nngrader", cache_dir=None)
    modules = sorted(graph.modules)
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(m):                       # Tarjan's strongly connected components
        index[m] = low[m] = counter[0]
        counter[0] += 1
        stack.append(m)
        on_stack.add(m)
        for n in sorted(graph.find_modules_directly_imported_by(m)):
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            component = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                component.append(n)
                if n == m:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for m in modules:
        if m not in index:
            visit(m)
    assert cycles == []


def _imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield node, [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            yield node, [node.module or ""]


def test_imports_sit_at_module_level():
    """An import inside a function is where cycles hide: only the deliberate ones remain."""
    late = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "nngrader")):
        for f in files:
            if not f.endswith(".py") or f == "worker.py":
                continue
            path = os.path.join(folder, f)
            tree = ast.parse(open(path, encoding="utf-8").read())
            for fn in ast.walk(tree):
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for node in ast.walk(fn):
                        if isinstance(node, (ast.Import, ast.ImportFrom)):
                            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                            late |= {(os.path.relpath(path, ROOT), n) for n in names}
    assert late <= DELIBERATE_LATE_IMPORTS, sorted(late - DELIBERATE_LATE_IMPORTS)


@pytest.mark.parametrize("module,allowed", [
    ("nngrader/core/protocol.py", set()),
    ("nngrader/boundary/worker.py", {"numpy", "matplotlib"}),      # matplotlib: preloaded only if used
])
def test_the_worker_side_uses_only_the_standard_library(module, allowed):
    """The worker cannot import the package; the protocol module it loads by path must not either."""
    for _, names in _imports(os.path.join(ROOT, module)):
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in allowed, f"{module} imports {name}"


def test_nothing_reads_outside_the_repository():
    """No tracked file points at a sibling folder or an absolute path of this machine."""
    files = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__" and not d.endswith(".egg-info")]
        files += [os.path.relpath(os.path.join(folder, n), ROOT) for n in names]
    assert "README.md" in files and "nngrader/engine/grading.py" in files
    outside = re.compile(r"\.\./shared|[\"']shared[\"']|/work/|/root/|/home/")
    bad = []
    for f in files:
        # the hostile corpus hunts for the answers in such places on purpose
        if f.startswith(("tests/hostile/", "tests/corpus/")) or f == "tests/test_architecture.py":
            continue
        try:
            text = open(os.path.join(ROOT, f), encoding="utf-8").read()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        bad += [f"{f}: {m.group(0)}" for m in outside.finditer(text)]
    assert bad == []


def test_loading_every_spec_imports_no_reference_code():
    """`grader.py validate` reads specs only: reference code runs when fixtures are made or a
    submission is graded, never to validate a YAML file."""
    code = ("import sys\n"
            "from nngrader.frontends import assignments\n"
            "for aid in assignments.available():\n"
            "    assignments.load(aid)\n"
            "print(sorted(m for m in sys.modules if m == 'reference' or m.startswith('reference.')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
