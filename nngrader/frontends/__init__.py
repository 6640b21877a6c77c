"""Frontends: the command line, the pytest plugin, results.json and the report, and the JSON
schemas. The only layer that knows the registered kinds."""
