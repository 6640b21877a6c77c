# The worker kills itself with a signal nothing can catch.
import os
import signal


def inference_2layers(X, W1, W2, b1, b2):
    os.kill(os.getpid(), signal.SIGKILL)
