"""Probe activations on the grading side: the same functions the worker builds (both come from
`core.protocol.PROBE_FACTORIES`), for the reference's runs. See the protocol for what they are."""
import numpy as np

from nngrader.core.protocol import PROBE_FACTORIES

PROBES = {name: factory(np) for name, factory in PROBE_FACTORIES.items()}

# Probes that are NumPy functions themselves: they travel to the worker by reference (requests
# are trusted pickles and NumPy is imported there), so the worker needs no copy of them.
# zeros: a weight initializer (shape -> zeros), so a layer's constructor needs no student init.
NUMPY_PROBES = {"zeros": np.zeros}
PROBES.update(NUMPY_PROBES)
