# Writes a forged reply header straight into the worker's reply pipe (its number is in the
# worker's command line): a 1 TiB reply the grader must not try to read.
import os
import struct
import sys

os.write(int(sys.argv[2]), struct.pack("<Q", 1 << 40))
