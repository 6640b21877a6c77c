"""Check kinds: one small module each, registered by name."""
