# Prints 20 MB once (sigmoid stays honest: printing is allowed, only the tail is kept), and
# prints forever in bce_forward.
import sys

_printed = False


def sigmoid(x):
    global _printed
    if not _printed:
        _printed = True
        line = "x" * 1023 + "\n"
        for _ in range(20 * 1024):
            sys.stdout.write(line)
    return _sig(x)


def bce_forward(yhat, y):
    while True:
        print("y" * 10000)
