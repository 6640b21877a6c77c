"""composition: drive the submission's own forward into its own backward (state stays opaque:
caches, module objects) and compare the final results with the reference doing the same.

Same fields as `compare` (use `steps`); the feedback names the chain, so a student knows that a
failing forward makes this check fail too.
"""
from nngrader.engine import compared
from nngrader.engine.kind import Kind


def run(check, ctx):
    chain = " → ".join(dict.fromkeys(s.target for s in check.config.steps if s.op in ("call", "new")))
    out = compared.run(check, ctx, what=f"your own chain {chain}, end results against the reference's")
    if not out.passed and check.visibility != "hidden":
        out.lines.append(f"  note: this check runs your {chain} in sequence; if an earlier function "
                         f"fails its own check, fix that one first.")
    return out


KIND = Kind(name="composition", fields=compared.FIELDS, parse=compared.parse, exercised=compared.exercised,
            run=run)
