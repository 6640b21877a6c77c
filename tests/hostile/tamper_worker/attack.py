# Replaces the worker's own encoder: every reply becomes the same forged array. The grader
# still only sees data the submission chose, never a verdict.
import __main__

if hasattr(__main__, "Worker"):
    __main__.Worker.encode = lambda self, value, keep=None, depth=0: ("__nd__", "<f8", (1,), b"\0" * 8)
