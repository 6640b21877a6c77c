"""The engine: inputs, scenarios, targets, comparison, hints, search, feedback, fixtures, the
spec loader, the check-kind protocol, and the one grading object. Never imports a kind or a
frontend, and never imports reference code by name in its source."""
