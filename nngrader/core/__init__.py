"""Leaves: the spec model, errors with a typed failure kind, limits, the course folder, and the
worker protocol. They import nothing else of the package."""
