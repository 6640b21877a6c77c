import sys
from nngrader import spec, runner, targets
orig = targets.StudentTarget._do
n = [0]
def _do(self, req, what):
    n[0] += 1
    if n[0] < 40 or n[0] % 100 == 0: print(n[0], req.get("op"), what, {k: v for k, v in req.items() if k in ("attr","handle","target","keep")}, file=sys.stderr)
    try:
        return orig(self, req, what)
    except Exception as e:
        print("FAIL at", n[0], req.get("op"), what, e, file=sys.stderr); print(self.process.output_tail(), file=sys.stderr); raise
targets.StudentTarget._do = _do
asg = spec.load("modules-lab")
run = runner.grade(asg, "reference", only=["mlp_sin_training"])
