"""`python -m nngrader ...`: the same command line as `nngrader` and `python grader.py`."""
import sys

from nngrader.frontends.cli import main

sys.exit(main())
