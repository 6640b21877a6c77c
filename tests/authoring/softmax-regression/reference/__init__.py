"""Reference implementations of the course."""
