"""nngrader: gradient verification and autograding for neural-networks-from-scratch NumPy assignments."""
