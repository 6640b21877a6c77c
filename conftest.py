"""Repository-level pytest configuration: loads the grading plugin (YAML checks as test items)."""
pytest_plugins = ["nngrader.frontends.pytest_plugin"]
