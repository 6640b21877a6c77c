"""The real-world corpus: correct and single-bug solutions wrapped the way students really hand
them in (the handout's imports, downloads, training and plots at module level, helper modules,
notebooks, archives, logging, a pickle bomb), each with the score a fair TA would give.

tests/realworld/<assignment>.yaml maps a case name to:

    nltk_download_at_import:
      base: correct_vectorized        # a tests/corpus/<assignment>/ variant (bugs included)
      why: the CS 6120 template's `import nltk` and `nltk.download("punkt")` at module level
      prepend: |                      # text put before the module's code
        import nltk
        nltk.download("punkt")
      append: |                       # text put after it (training, plots, reading data)
        W1 = train_nn("tweets.pkl", 4, 300, 0.5)
      replace: [[old, new]]           # each `old` must occur in the module
      move_to_helper: {file: nets.py, names: [sigmoid, inference_layer]}   # the functions move
                                      # to a helper module the graded module imports
      files: {notes.md: "...", data/x.csv: "..."}     # extra files, as text
      pickle_bomb: assignment2.pkl    # a submitted pickle that expands to 8**10 values
      rename_module: "assignment2 (1).py"   # the module handed in under another name
      package: notebook | zip | nested  # how it is handed in (default: the folder)
      score: 100                      # the whole submission's score, exactly
      notes: ["the grader does not have nltk"]        # texts the report's notes must contain

A case is built into a temporary folder each time; nothing of it is stored beyond the YAML.
"""
import json
import os
import pickle
import shutil
import zipfile

import yaml

from corpus_tools import materialize

REALWORLD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "realworld")
CASE_KEYS = {"base", "why", "prepend", "append", "replace", "move_to_helper", "files", "pickle_bomb", "package",
             "rename_module", "score", "notes"}
MODULES = {"sentiment-2layer": "assignment2", "modules-lab": "nn_lab", "worked-backprop": "worked",
           "ocr-neuralnet": "neuralnet", "mnist-backprop": "hw2"}


def cases():
    """-> [(assignment, case name, spec)] of every tests/realworld/<assignment>.yaml."""
    out = []
    for f in sorted(os.listdir(REALWORLD)):
        if f.endswith(".yaml"):
            with open(os.path.join(REALWORLD, f), encoding="utf-8") as fh:
                for name, spec in (yaml.safe_load(fh) or {}).items():
                    out.append((f[:-5], name, spec))
    return out


def build(assignment, name, spec, workdir):
    """Write the case's submission under workdir -> the path to grade (a folder or a file)."""
    unknown = set(spec) - CASE_KEYS
    assert not unknown, f"{assignment}/{name}: unknown keys {sorted(unknown)}"
    folder = materialize(assignment, spec["base"], os.path.join(workdir, "submission"))
    module = os.path.join(folder, MODULES[assignment] + ".py")
    with open(module, encoding="utf-8") as f:
        text = f.read()
    for old, new in spec.get("replace", []):
        assert old in text, f"{assignment}/{name}: {old!r} does not occur"
        text = text.replace(old, new)
    if "move_to_helper" in spec:
        text = _move_to_helper(text, folder, spec["move_to_helper"])
    text = spec.get("prepend", "") + text + ("\n" + spec["append"] if "append" in spec else "")
    with open(module, "w", encoding="utf-8") as f:
        f.write(text)
    for rel, content in (spec.get("files") or {}).items():
        os.makedirs(os.path.dirname(os.path.join(folder, rel)), exist_ok=True)
        with open(os.path.join(folder, rel), "w", encoding="utf-8") as f:
            f.write(content)
    if "pickle_bomb" in spec:
        x = [0.5] * 8
        for _ in range(9):
            x = [x] * 8
        with open(os.path.join(folder, spec["pickle_bomb"]), "wb") as f:
            pickle.dump({"W1": x, "b1": [0.0], "W2": [[0.0]], "b2": [0.0]}, f, protocol=2)
    if "rename_module" in spec:
        renamed = os.path.join(folder, spec["rename_module"])
        os.replace(module, renamed)
        module = renamed
    package = spec.get("package", "folder")
    if package == "notebook":
        return _notebook(module, text, folder)
    if package == "zip":
        path = os.path.join(workdir, "submission.zip")
        with zipfile.ZipFile(path, "w") as z:
            for root, _, files in os.walk(folder):
                for f in files:
                    full = os.path.join(root, f)
                    z.write(full, os.path.join("my_submission", os.path.relpath(full, folder)))
        return path
    if package == "nested":
        nested = os.path.join(workdir, "upload", "Homework 2", "code")
        shutil.copytree(folder, nested)
        return os.path.join(workdir, "upload")
    assert package == "folder", f"{assignment}/{name}: unknown package {package!r}"
    return folder


def _move_to_helper(text, folder, spec):
    """Move the top-level functions `names` into a helper module; the graded module imports them."""
    import ast
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    moved, keep = [], list(lines)
    for node in sorted((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in spec["names"]),
                       key=lambda n: -n.lineno):
        start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
        moved.insert(0, "".join(lines[start:node.end_lineno]))
        del keep[start:node.end_lineno]
    assert len(moved) == len(spec["names"]), f"not all of {spec['names']} are top-level functions"
    imports = [ln for ln in lines if ln.startswith(("import ", "from "))]
    with open(os.path.join(folder, spec["file"]), "w", encoding="utf-8") as f:
        f.write("".join(imports) + "\n\n" + "\n\n".join(moved))
    helper = spec["file"][:-3]
    return f"from {helper} import {', '.join(spec['names'])}\n" + "".join(keep)


def _notebook(module, text, folder):
    """The module as a notebook beside its other files: one cell per top-level block, with the
    magics and shell lines students leave in."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Homework\nMy solution."},
             {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
              "source": "%matplotlib inline\n%load_ext autoreload\n!pip install --quiet nltk"}]
    for block in text.split("\n\n\n"):
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                      "source": block.strip("\n")})
    os.remove(module)
    path = os.path.join(folder, "Homework.ipynb")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, f, indent=1)
    return folder
