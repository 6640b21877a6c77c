# Kills the worker in the middle of a call; the next check must get a fresh worker.
import os


def inference_layer(X, W, b):
    os._exit(3)
