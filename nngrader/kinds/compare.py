"""compare: call the submission and the reference on generated inputs and compare results.

    - name: gradients_dW1
      kind: compare
      points: 4
      dims: {d: [1, 5], N: [1, 5], H: [1, 4]}
      args: {X: {shape: [d, N], normal: 1.0}, ...}
      call: gradients                   # shorthand for one step calling with all args in order
      returns: [{name: dW1}, {name: dW2}, ...]
      compare: [dW1]                    # which results this check scores (default: all)
      alternatives: {relu_backward: relu_backward_at_kink_one}   # expected becomes an interval
      kink: {arg: x, at: 0.0}           # ...only where x == 0, for results shaped like x
      variants:                         # known mistakes the diagnosis may name (a catalog id, and
        - {mistake: derivative_at_preactivation, use: {gradients: gradients_derivative_at_preactivation}}
                                        # the reference with functions of <reference>_mistakes)
      structure: {upstream: dout, bias_column: {dw: 0}, mask: {dx: x}}   # what values mean, for hints

With `kink`, the two references must agree everywhere else (else the check is a harness error:
an alternative may only differ at the declared kink), and results shaped like the kink argument
get the interval only at the kink; other results keep the interval wherever the references differ.
"""
from nngrader.engine import compared
from nngrader.engine.kind import Kind


def run(check, ctx):
    return compared.run(check, ctx)


KIND = Kind(name="compare", fields=compared.FIELDS, parse=compared.parse, exercised=compared.exercised, run=run)
