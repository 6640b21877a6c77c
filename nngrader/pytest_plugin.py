"""pytest plugin: collects checks/<assignment>.yaml as test items (filled in by the grading core)."""
