import time, sys
from nngrader import spec, runner
from nngrader.sandbox import Limits
asg = spec.load("modules-lab")
t = [time.monotonic()]
def on(r):
    now = time.monotonic(); print(f"{now - t[0]:.3f} {r.check.name} {r.score}/{r.check.points}"); t[0] = now
run = runner.grade(asg, sys.argv[1] if len(sys.argv) > 1 else "reference", limits=Limits(unprivileged_user="daemon"), on_result=on)
print("total", run.seconds, run.score)
