"""stability: extreme inputs where the contract asks for numerical stability. Every result must
be finite, no RuntimeWarning (overflow, divide by zero, invalid) may be raised, and the values
must match the reference.

Same fields as `compare`; declare the extremes in `args` (e.g. `extremes: {values: [-1000, 1000]}`).
"""
import numpy as np

from nngrader.engine import compared
from nngrader.engine.comparison import Mismatch
from nngrader.engine.kind import Kind


def run(check, ctx):
    def verify(stu_env, env):
        out = []
        # Underflow (e^-1000 -> 0) is benign and happens in the stable formulas themselves.
        warned = [w for w in ctx.student.warnings_log if "Warning" in w and "underflow" not in w]
        if warned:
            out.append(Mismatch("warnings", f"your code raised {len(warned)} warning(s): {warned[0]}",
                                [], "use a numerically stable formula (e.g. the two-sided sigmoid with np.where, "
                                    "or subtract the max before exp) [mistake: unstable_formula]"))
        for name in check.config.compare:
            try:
                arr = np.asarray(stu_env.get(name), dtype=np.float64)
            except (TypeError, ValueError):
                continue        # the value comparison reports the wrong type
            if not np.isfinite(arr).all():
                out.append(Mismatch(name, f"{name}: {int((~np.isfinite(arr)).sum())} non-finite value(s) "
                                          f"(NaN or inf) on extreme inputs", [],
                                    "an overflow or log(0): use a numerically stable formula"))
        return out
    return compared.run(check, ctx, verify=verify,
                           what="finite, warning-free, and equal to the reference on extreme inputs")


KIND = Kind(name="stability", fields=compared.FIELDS, parse=compared.parse, exercised=compared.exercised,
            run=run)
