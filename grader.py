#!/usr/bin/env python3
"""Grade a submission: see `python grader.py --help` and README.md."""
import sys

from nngrader.frontends.cli import main

if __name__ == "__main__":
    sys.exit(main())
