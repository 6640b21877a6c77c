"""`grader.py new ID`: the files a new assignment starts from, in a course folder.

    reference/<id_>.py                  the reference: one stub per contract function
    student_impl/<id>/<module>.py       the template students start from (same signatures)
    checks/<id>.yaml                    a commented spec: one `compare` check per function
    tests/corpus/<id>/manifest.yaml     the corpus of correct and single-bug variants
    examples/<id>/correct/, examples/<id>/bug/   a bundled correct example and a buggy one

Nothing is overwritten: an existing file stops the command before anything is written. The
stubs raise NotImplementedError, so `grader.py validate ID` fails, naming each check the
reference cannot pass yet, until the reference is written.
"""
import os
import re

from nngrader.core.errors import SpecError

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

REFERENCE = '''"""Reference implementation of {id}: vectorized float64 NumPy, no I/O, no grading code.
Each function documents its shapes; the checks in checks/{id}.yaml call them by name."""
import numpy as np  # noqa: F401  (the reference is written with NumPy)
{functions}'''

REFERENCE_FUNCTION = '''

def {name}(x):
    """x: (N, d) -> (N, d). Replace with the reference and its real signature."""
    raise NotImplementedError("write the reference {name}")
'''

TEMPLATE = '''"""{id}: implement the functions below. Do not change their names or signatures."""
import numpy as np  # noqa: F401
{functions}'''

TEMPLATE_FUNCTION = '''

def {name}(x):
    """x: (N, d) -> (N, d)."""
    raise NotImplementedError
'''

SPEC = '''# yaml-language-server: $schema=schema.json
# {id}: the checks of the assignment (README.md, "How checks are written" and "Adding an
# assignment"; every kind's fields are documented at the top of nngrader/kinds/<kind>.py).
# Check it (every name resolved, then every check dry-run on the reference, which must pass
# them all) with:
#   python grader.py validate {id}{course}
assignment:
  id: {id}    # = this file's name
  title: {id}
  module: {module}    # the student's module ({module}.py)
  files: [{module}.py]
  reference: reference.{ref_module}
  contract: [{contract}]
defaults:
  seed: {seed}                  # every check's hypothesis seed unless it sets its own
  max_examples: 20
checks:
{checks}'''

SPEC_CHECK = '''  # Cite the handout for every decision it drives (shapes, accepted alternatives).
  - name: {name}_matches_reference
    kind: compare                # others: composition, gradient, stability, training, fixture, ...
    points: {points}
    description: {name} against the reference on generated inputs
    dims: {{N: [1, 5], d: [1, 4]}}        # symbolic sizes drawn by hypothesis (N = 1 is always tried)
    args:
      x: {{shape: [N, d], normal: 1.0}}    # generators: normal, uniform, labels, onehot, value, ...
    call: {name}
    returns: {{name: out}}
'''

MANIFEST = '''# Corpus for {id}: correct and single-bug submissions (format and rules: tests/corpus_tools.py).
# The rules (tests/test_corpus.py): at least 6 `expect: full` variants, each passing every check,
# and at least 20 single-bug variants, each failing at least one check and only checks that
# exercise `bug_in` (or `also`). A folder variant is tests/corpus/{id}/<name>/{module}.py.
# The bundled examples: examples/{id}/correct/{module}.py scores 100, and examples/{id}/bug/
# (rename it after its bug) holds a typical bug and scores between 0 and 100.
#
# correct_vectorized: {{expect: full}}
# bug_example:
#   from: correct_vectorized
#   replace: [["old text", "new text"]]     # each `old` must occur
#   bug_in: {first}
#   why: what the bug is
'''

def plan(aid, module=None, functions=("forward",), seed=20260209, course_flag=""):
    """-> {relative path: text} of the files `new` writes (nothing is written)."""
    if not ID_RE.match(aid or ""):
        raise SpecError(f"new {aid!r}: an assignment id is lower-case letters, digits and '-' (e.g. softmax-regression)")
    module = module or aid.replace("-", "_")
    functions = list(functions) or ["forward"]
    for name in [module] + functions:
        if not IDENT_RE.match(name):
            raise SpecError(f"new {aid}: {name!r} is not a Python identifier")
    ref_module = aid.replace("-", "_")
    points = f"{100 / len(functions):.4g}"
    return {
        f"reference/{ref_module}.py": REFERENCE.format(
            id=aid, functions="".join(REFERENCE_FUNCTION.format(name=f) for f in functions)),
        f"student_impl/{aid}/{module}.py": TEMPLATE.format(
            id=aid, functions="".join(TEMPLATE_FUNCTION.format(name=f) for f in functions)),
        f"checks/{aid}.yaml": SPEC.format(
            id=aid, module=module, ref_module=ref_module, contract=", ".join(functions), seed=seed,
            course=course_flag, checks="\n".join(SPEC_CHECK.format(name=f, points=points) for f in functions)),
        f"tests/corpus/{aid}/manifest.yaml": MANIFEST.format(id=aid, module=module, first=functions[0]),
        f"examples/{aid}/correct/.gitkeep": "",
        f"examples/{aid}/bug/.gitkeep": "",
    }


def create(course_root, aid, module=None, functions=("forward",), course_flag=""):
    """Write the new assignment's files into the course folder -> the paths written (relative).
    An existing file is an error, before anything is written."""
    files = plan(aid, module, functions, course_flag=course_flag)
    existing = [p for p in files if os.path.exists(os.path.join(course_root, p))]
    if existing:
        raise SpecError(f"new {aid}: {', '.join(existing)} already exist(s) in {course_root}; nothing was written")
    init = os.path.join(course_root, "reference", "__init__.py")
    written = []
    if not os.path.exists(init):
        files = {"reference/__init__.py": '"""Reference implementations of the course."""\n', **files}
    for rel, text in files.items():
        path = os.path.join(course_root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        written.append(rel)
    return written
