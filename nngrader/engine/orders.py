"""The order of returned values: a permutation of a step's results is detected from the numbers,
named in the feedback, and accepted only where the check declares that order (`return_orders`,
where the handout itself gives two orders).

    return_orders:                      # a check field of compare, composition, gradient, fixture
      gradients: [[dW1, db1, dW2, db2, L]]   # the call's other accepted order(s), by result name

A permutation is only reported when every value of the step matches the reference under it and
not under the declared order: evidence that could have refuted it.
"""
import itertools

import numpy as np

from nngrader.core.errors import SpecError
from nngrader.engine import comparison

MAX_PERMUTED = 6            # a step with more results is not searched for permutations (6! = 720)


def parse(where, raw, steps):
    """`return_orders: {call: [[name, ...], ...]}` -> {call: [tuple of names]} (validated)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        where.fail("a mapping {called function: [[result names in another accepted order]]}", raw)
    declared = {s.target: returned_names(s) for s in steps if s.op == "call" and len(returned_names(s)) > 1}
    out = {}
    for call, orders in raw.items():
        if call not in declared:
            raise SpecError(f"{where.at(call)}: {call!r} is not a call step of this check that returns "
                            f"several values (calls: {', '.join(declared) or 'none'}).")
        if not isinstance(orders, list) or not all(isinstance(o, list) for o in orders):
            where.at(call).fail("a list of orders, each a list of the step's result names", orders)
        for i, order in enumerate(orders):
            if sorted(order) != sorted(declared[call]):
                raise SpecError(f"{where.at(call, i)}: {order} must list the step's results "
                                f"{declared[call]} in another order.")
        out[call] = [tuple(o) for o in orders]
    return out


def returned_names(step):
    """The names a call step gives its returned values, in their order (handles left out)."""
    rets = step.returns if isinstance(step.returns, list) else []
    return [r.name for r in rets if not r.handle]


def _matches(exp, got, tolerance, dims, accept):
    if exp is None or got is None:
        return False
    if isinstance(exp, (list, tuple)) and not all(np.isscalar(x) for x in exp):
        if not isinstance(got, (list, tuple)) or len(got) != len(exp):
            return False
        return all(comparison.agrees(e, g, tolerance, dims, accept) for e, g in zip(exp, got))
    return comparison.agrees(exp, got, tolerance, dims, accept)


def resolve(steps, accepted, ref_env, stu_env, tolerance, dims, accept):
    """-> (student env, notes). Where a call's results match the reference only once permuted:
    an accepted order renames them (a note says so); any other order is named (the env is kept)."""
    notes = []
    env = dict(stu_env)
    for step in steps:
        names = returned_names(step) if step.op == "call" else []
        if len(names) < 2 or len(names) > MAX_PERMUTED or not all(n in ref_env and n in env for n in names):
            continue
        if all(_matches(ref_env[n], env[n], tolerance, dims, accept.get(n)) for n in names):
            continue
        match = {(i, j): _matches(ref_env[names[j]], env[names[i]], tolerance, dims, accept.get(names[j]))
                 for i in range(len(names)) for j in range(len(names))}
        if any(_matches(ref_env[names[j]], ref_env[names[k]], tolerance, dims, accept.get(names[j]))
               for j in range(len(names)) for k in range(len(names)) if j != k):
            continue        # two expected values coincide here: an order cannot be told from them
        found = None
        for perm in itertools.permutations(range(len(names))):
            if perm != tuple(range(len(names))) and all(match[i, perm[i]] for i in range(len(names))):
                found = perm
                break
        if found is None:
            continue
        order = tuple(names[j] for j in found)      # what the submission returned, position by position
        if order in accepted.get(step.target, []):
            received = {names[i]: env[names[i]] for i in range(len(names))}
            for i, j in enumerate(found):
                env[names[j]] = received[names[i]]
            notes.append(f"  note: your {step.target} returns ({', '.join(order)}), an order the handout also "
                         f"gives; it was graded in that order")
        else:
            notes.append(f"  your {step.target} returns its values in the order ({', '.join(order)}): with that "
                         f"order every value matches the reference; the expected order is ({', '.join(names)})")
    return env, notes
