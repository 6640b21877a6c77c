"""On the small shapes of every assignment's gradient checks, the random-direction verifier
(nngrader.engine.gradverify) reaches the same verdict as full per-entry central differences, on
every corpus variant, correct and buggy: no false alarm, no miss.

The comparison is made on the gradients themselves: each variant's module is run in this process
(the corpus is the project's own code) through the same steps as the check, for the check's
boundary examples and seeded draws, and each claimed gradient is judged twice against the
reference loss:
- per entry: central differences of every entry (no subset), compared with the check's tolerance
  (what the gradient check kind does on these shapes);
- by probes: the verifier over all entries, its localised entries then held to the same tolerance
  (what the kind does above `verify_above` entries), without falling back to per-entry differences.
"""
import dataclasses
import importlib.util
import os
import sys

import numpy as np
import pytest

from corpus_tools import CORPUS, materialize, variants
from nngrader.engine import comparison, gradverify, inputs, scenario, search
from nngrader.engine.targets import ReferenceTarget
from nngrader.frontends import assignments
from nngrader.kinds import gradient

pytestmark = pytest.mark.slow

DRAWS = 4                   # seeded draws per check besides its boundary examples
ASSIGNMENTS = sorted(d for d in os.listdir(CORPUS) if os.path.isfile(os.path.join(CORPUS, d, "manifest.yaml")))


def _gradient_checks(asg):
    return [c for c in asg.checks if c.kind == "gradient"]


def _draws(check):
    rng = np.random.default_rng(check.seed)
    out = list(search.boundary_examples(check.config.inputs))
    for _ in range(DRAWS):
        dims = {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in check.config.inputs.dims.items()}
        out.append({"dims": dims, "seed": int(rng.integers(2 ** 32))})
    return out


def _import_variant(folder, module, tag):
    path = next((os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f == module + ".py"), None)
    if path is None:
        return None
    before = set(sys.modules)
    sys.path.insert(0, os.path.dirname(path))
    try:
        spec = importlib.util.spec_from_file_location(f"_corpus_{tag}", path)
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:           # a variant whose import fails has no gradients to compare
            return None
        return mod
    finally:
        sys.path.remove(os.path.dirname(path))
        for name in set(sys.modules) - before:      # helper modules of this variant
            del sys.modules[name]


def _verdict_by_probes(ref_loss, env, arg, res, got, cfg, check, accept, seed):
    """-> (Mismatch or None, report): the verifier, then the tolerance on the entries it localised."""
    x = np.array(gradient._get(env, arg), dtype=np.float64)
    arr, _ = comparison.coerce(got)

    def losses(thetas):
        return [ref_loss(gradient._with(env, arg, t.reshape(x.shape))) for t in thetas]
    f32 = comparison.received_dtype(got) == "float32"
    rep = gradverify.verify(losses, arr, x, batched=True, blocks=[(res, x.shape)], seed=seed,
                            grad_dtype=np.float32 if f32 else np.float64)
    if rep.ok:
        return None, rep
    lo, hi = arr.reshape(-1).copy(), arr.reshape(-1).copy()
    for e in rep.wrong:
        lo[e.index], hi[e.index] = e.low, e.high
    dims = {k: v for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
    m = comparison.compare(res, lo.reshape(arr.shape), got, gradient._tolerances(cfg, check), dims,
                           accept.get(gradient.PATH.match(res).group(1)), hi.reshape(arr.shape))
    return m, rep


def compare_assignment(aid, tmp_path):
    """-> (comparisons, wrong gradients among them (per entry), disagreements, false alarms of the
    raw verifier on correct variants)."""
    asg = assignments.load(aid)
    checks = _gradient_checks(asg)
    ref = ReferenceTarget(asg.course.import_reference(asg.reference))
    compared, wrong, disagree, alarms = 0, 0, [], []
    for name, spec in variants(aid):
        spec = spec or {}
        folder = materialize(aid, name, str(tmp_path / name))
        mod = _import_variant(folder, asg.module, f"{aid.replace('-', '_')}_{name}")
        if mod is None:
            continue
        student = ReferenceTarget(mod)
        for check in checks:
            cfg = check.config
            full = dataclasses.replace(cfg, max_entries=10 ** 9)
            ref_loss = gradient._loss_fn(ref, cfg.loss_steps)
            accept = search.accept_map(cfg.steps)
            for draw in _draws(check):
                env = inputs.build(cfg.inputs, draw)
                try:
                    stu_env = scenario.run(student, cfg.steps, env)
                except Exception:           # the variant fails on this example: no values to compare
                    continue
                dims = {k: v for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
                for arg, res in cfg.wrt:
                    got = gradient._get(stu_env, res)
                    x = np.asarray(gradient._get(env, arg))
                    arr, problem = comparison.coerce(got)
                    acc = accept.get(gradient.PATH.match(res).group(1))
                    if problem or arr.size != x.size or not comparison.shape_accepted(x.shape, arr.shape, acc, dims):
                        continue            # a type or shape verdict, the same on both paths
                    lo, hi, entries = gradient.finite_differences(ref_loss, env, arg, full, draw["seed"])
                    by_entry = gradient._compare_entries(res, lo, hi, entries, got, full, check, accept, env)
                    by_probes, rep = _verdict_by_probes(ref_loss, env, arg, res, got, cfg, check, accept,
                                                        draw["seed"])
                    compared += 1
                    wrong += by_entry is not None
                    where = f"{aid}/{name} {check.name} {res} dims={draw['dims']} seed={draw['seed']}"
                    if (by_entry is None) != (by_probes is None):
                        disagree.append(f"{where}: per entry {'fails' if by_entry else 'passes'}, by probes "
                                        f"{'fails' if by_probes else 'passes'}: " + " | ".join(rep.describe()[:3]))
                    if spec.get("expect") == "full" and not rep.ok:
                        alarms.append(f"{where}: " + " | ".join(rep.describe()[:3]))
    return compared, wrong, disagree, alarms


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_probes_agree_with_per_entry_differences_on_the_corpus(aid, tmp_path):
    if not _gradient_checks(assignments.load(aid)):
        pytest.skip(f"{aid} has no gradient check")
    compared, wrong, disagree, alarms = compare_assignment(aid, tmp_path)
    assert compared >= 50, f"only {compared} gradients compared"
    assert wrong >= 5, f"only {wrong} of {compared} gradients are wrong: the comparison would not see a miss"
    assert not disagree, "\n".join(disagree[:20])
    assert not alarms, "\n".join(alarms[:20])


def test_the_shipped_shapes_stay_below_verify_above():
    """The kind keeps its per-entry differences on every shipped gradient check: no argument it
    differentiates has more entries than `verify_above` at the largest dimensions."""
    for aid in ASSIGNMENTS:
        for check in _gradient_checks(assignments.load(aid)):
            cfg = check.config
            highs = {k: hi for k, (lo, hi) in cfg.inputs.dims.items()}
            env = inputs.build(cfg.inputs, {"dims": highs, "seed": 0})
            for arg, _ in cfg.wrt:
                assert np.size(gradient._get(env, arg)) <= cfg.verify_above, (aid, check.name, arg)
