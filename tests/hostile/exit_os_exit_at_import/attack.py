# Ends the worker process at import without unwinding (no exception to catch).
import os

os._exit(3)
