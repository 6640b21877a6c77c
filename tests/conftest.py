import os
import sys

# Tests import their helper modules (corpus_tools, helpers_reference) by plain name.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
