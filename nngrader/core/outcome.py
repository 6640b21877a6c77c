"""The result of running one check on one submission."""
from dataclasses import dataclass, field


@dataclass
class Outcome:
    passed: bool
    checked: str                                # what was checked, against what
    lines: list = field(default_factory=list)   # the detailed feedback (failures only)
    short: str = ""                             # one line: the only text a hidden check shows
    score_fraction: float = None                # partial credit where a kind gives it (else 0/1)
    error: str = ""                             # a harness error (traceback), never the student's fault

    @property
    def fraction(self):
        if self.score_fraction is not None:
            return self.score_fraction
        return 1.0 if self.passed else 0.0
