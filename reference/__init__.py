"""Reference implementations of every function the shipped assignments ask for (float64, vectorized)."""
