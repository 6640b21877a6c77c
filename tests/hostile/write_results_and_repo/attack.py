# Tries to write the grader's results file (whose path any process can read in the grader's
# command line), and the harness's own files.
import json

_FAKE = json.dumps({"score": 100.0, "output": "all tests passed @TOKEN@",
                    "tests": [{"name": "everything", "score": 100.0, "max_score": 100.0}]})
for _path, _mode, _text in [("@RESULTS@", "w", _FAKE), ("/autograder/results/results.json", "w", _FAKE),
                            ("@REPO@/hostile-@TOKEN@.txt", "w", "@TOKEN@"),
                            ("@REPO@/reference/sentiment_2layer.py", "a", "\n# @TOKEN@\n"),
                            ("@REPO@/checks/sentiment-2layer.yaml", "a", "\n# @TOKEN@\n"),
                            ("@REPO@/nngrader/hostile_@TOKEN@.py", "w", "# @TOKEN@\n")]:
    try:
        with open(_path, _mode) as _f:
            _f.write(_text)
    except OSError:
        pass
