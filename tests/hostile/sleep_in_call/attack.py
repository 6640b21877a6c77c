# Sleeps (no CPU used, so a CPU limit alone would never stop it).
import time


def bce_forward(yhat, y):
    time.sleep(3600)
