"""The student worker: the only process that imports and runs submitted code.

Started by `nngrader.boundary.process` as
`python -s -S -B -u -P worker.py PROTO_IN PROTO_OUT SCRATCH DROP SITE...` with stdout/stderr on a
pipe the grading side drains. DROP is "-" or "UID:GID:NPROC": as root it imports NumPy, then
becomes that user before any student code runs. It uses the standard library, NumPy, and the
protocol module `nngrader/core/protocol.py`, loaded by file path before any student code runs:
nothing of the grading side is importable from it.

`worker.py --server CTRL_FD MODE SITE...` is a batch's fork server (`_fork_server`): prepared
like a worker, it forks workers on request and never imports student code itself.

Requests arrive as pickles (trusted direction). Replies contain builtins only: arrays travel
as (P.Tag.ND, dtype, shape, bytes) so the grading side can unpickle them with no globals at
all, and an ndarray subclass cannot survive the trip.
"""
import difflib
import os
import sys
import time
import traceback
import types
import warnings

MAX_STR = 2000
MAX_DEPTH = 6
MAX_ITEMS = 10000
PROTOCOL_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "core", "protocol.py")


P = None                        # the protocol module, loaded by main() (see _load_protocol)


def _load_protocol():
    """The shared protocol module, by path, executed into a fresh module that is kept out of
    sys.modules (student code cannot find it by name; it is only constants and framing). Called
    after the import path goes through descriptors and before privileges are dropped: loading
    importlib's machinery earlier would pin packages such as importlib to folders the
    unprivileged user may not read."""
    import types
    module = types.ModuleType("_nngrader_protocol")
    module.__file__ = PROTOCOL_FILE
    with open(PROTOCOL_FILE, encoding="utf-8") as f:
        exec(compile(f.read(), PROTOCOL_FILE, "exec"), module.__dict__)
    return module


class Worker:
    def __init__(self, np, modules, scratch):
        self.np = np
        self.scratch = scratch          # the folder holding the submission (the working folder)
        self.trace = []                 # what a traced call saw computing in float32
        self.modules = modules          # module name -> module object
        self.main = None
        self.handles = {}
        self.next_handle = 1
        self.results = None             # within a batch: what its requests returned (encoded)
        self.generators = None          # the seeded random generators (Generators)

    # ---- values crossing the boundary -------------------------------------------------
    def encode(self, value, keep, depth=0):
        """Turn a student value into builtins; `keep` says which parts stay behind handles."""
        np = self.np
        if keep is True or keep == "handle":
            hid = self.next_handle
            self.next_handle += 1
            self.handles[hid] = value
            return (P.Tag.HANDLE, hid, type(value).__name__)
        if isinstance(keep, (list, tuple)) and isinstance(value, (list, tuple)):
            items = list(value)
            out = [self.encode(v, keep[i] if i < len(keep) else None, depth + 1)
                   for i, v in enumerate(items)]
            return (P.Tag.TUPLE, tuple(out)) if isinstance(value, tuple) else out
        if depth > MAX_DEPTH:
            return (P.Tag.OPAQUE, "nested too deeply", "")
        if value is None or type(value) in (bool, int, float, str):
            if type(value) is str and len(value) > MAX_STR:
                return value[:MAX_STR]
            if type(value) is int and abs(value) > 2 ** 63:
                return float(value)
            return value
        if isinstance(value, np.ndarray):
            # A subclass is copied into a plain array first (its methods are the submission's);
            # a plain array's own tobytes() copies its numbers.
            arr = value if type(value) is np.ndarray else np.array(value, copy=True, subok=False)
            if arr.dtype.kind not in "biuf" or arr.size > 10_000_000:
                return (P.Tag.OPAQUE, f"ndarray of dtype {arr.dtype}", f"shape {arr.shape}")
            # tobytes() is C-ordered for any layout (np.ascontiguousarray would turn 0-d into 1-d)
            return (P.Tag.ND, arr.dtype.str, arr.shape, arr.tobytes(order="C"))
        if isinstance(value, np.generic):
            arr = np.array(value).reshape(())
            if arr.dtype.kind not in "biuf":
                return (P.Tag.OPAQUE, type(value).__name__, "")
            return (P.Tag.ND, arr.dtype.str, (), arr.tobytes(), "scalar")
        if type(value) in (list, tuple):
            if len(value) > MAX_ITEMS:
                return (P.Tag.OPAQUE, f"{type(value).__name__} of {len(value)} items", "")
            out = [self.encode(v, None, depth + 1) for v in value]
            return (P.Tag.TUPLE, tuple(out)) if type(value) is tuple else out
        if type(value) is dict:
            return (P.Tag.DICT, [(self.encode(k, None, depth + 1), self.encode(v, None, depth + 1))
                                 for k, v in list(value.items())[:MAX_ITEMS]])
        try:
            text = object.__repr__(value)
        except Exception:                     # a lying object may break even object.__repr__
            text = "?"
        return (P.Tag.OPAQUE, type(value).__name__, text[:200])

    def resolve(self, value):
        """Turn request references into objects: handles, the student's own names, probes."""
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            tag = value[0]
            if tag == P.Tag.HANDLE:
                return self.handles[value[1]]
            if tag == P.Tag.STUDENT:
                return self.lookup(value[1])
            if tag == P.Tag.PROBE:
                return P.PROBE_FACTORIES[value[1]](self.np)
            if tag == P.Tag.TUPLE:
                return tuple(self.resolve(v) for v in value[1])
            if tag == P.Tag.RESULT:
                return self.result(value[1], value[2])
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, self.np.ndarray):
            return value.copy()
        return value

    def result(self, k, item):
        """(Tag.RESULT, k, item): what request k of this batch returned (its item `item`, unless
        None), as it would arrive had the grading side received it and sent it back."""
        value = self.crossed(self.results[k])
        if item is None:
            return value
        if type(value) not in (list, tuple) or not 0 <= item < len(value):
            raise TypeError(f"an earlier result has no item {item}")
        return value[item]

    def crossed(self, value):
        """An encoded reply value as the grading side decodes it (nngrader.boundary.wire.decode)
        and sends it back (StudentTarget._encode): plain arrays, tuples, lists, dicts."""
        np = self.np
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            tag = value[0]
            if tag == P.Tag.ND:
                return np.frombuffer(value[3], dtype=np.dtype(value[1])).reshape(value[2]).copy()
            if tag == P.Tag.TUPLE:
                return tuple(self.crossed(v) for v in value[1])
            if tag == P.Tag.DICT:
                out = {}
                for k, v in value[1]:
                    k = self.crossed(k)
                    out[k if isinstance(k, (str, int, float, bool, tuple)) else repr(k)] = self.crossed(v)
                return out
            if tag in (P.Tag.HANDLE, P.Tag.OPAQUE):
                raise TypeError("an earlier result cannot be passed on")
        if isinstance(value, (list, tuple)):
            return type(value)(self.crossed(v) for v in value)
        return value

    def lookup(self, name):
        if self.main is None:
            raise LookupError("submission not loaded")
        if not hasattr(self.main, name):
            defined = [n for n in dir(self.main) if callable(getattr(self.main, n, None))]
            raise _Missing(name + _defines_instead(name, defined))
        return getattr(self.main, name)

    # ---- operations ---------------------------------------------------------------------
    def op_load(self, req):
        """Import the submission's modules -> {names, stood_in, skipped, failure}.

        If importing a module fails because of what its module-level statements do (not a
        syntax error), it is imported again one top-level statement at a time, skipping those
        that fail (`skipped` lists them; `failure` says why the import failed). With
        `definitions_only` (the grading side's retry after an import that hung or died), the
        risky statements (training, loops, bare calls) are not run at all."""
        import importlib
        skipped, failure = [], ""
        STAND_INS.importing = True
        # what module-level argparse code sees: the file's name alone, not the worker's arguments
        sys.argv = [req["modules"][0] + ".py"] if req["modules"] else ["-"]
        try:
            for mod in req["modules"]:
                if req.get("definitions_only"):
                    self.modules[mod], skipped = _load_definitions(mod, self.scratch, cautious=True)
                    continue
                try:
                    self.modules[mod] = importlib.import_module(mod)
                except SyntaxError:
                    raise
                except BaseException as exc:        # module-level code failed: grade the definitions
                    if isinstance(exc, MemoryError):
                        raise
                    failure = _describe_failure(exc, "load", self.scratch)
                    sys.modules.pop(mod, None)
                    self.modules[mod], skipped = _load_definitions(mod, self.scratch)
        finally:
            STAND_INS.importing = False
        self.main = self.modules[req["modules"][0]] if req["modules"] else None    # none: a fork server
        names = [n for n in dir(self.main) if not n.startswith("__")] if self.main is not None else []
        return self.encode({"names": names, "stood_in": dict(STAND_INS.used), "skipped": skipped,
                            "failure": failure and {k: failure[k] for k in ("type", "message")}}, None)

    def op_call(self, req):
        target = req["target"]
        if target[0] == "name":
            fn = self.lookup(target[1])
        elif target[0] == "method":
            obj = self.handles[target[1]]
            if not hasattr(obj, target[2]):
                raise _Missing(f"{type(obj).__name__}.{target[2]}" + _defines_instead(target[2], dir(obj)))
            fn = getattr(obj, target[2])
        else:
            raise ValueError(f"bad target {target!r}")
        args = [self.resolve(a) for a in req.get("args", [])]
        kwargs = {k: self.resolve(v) for k, v in req.get("kwargs", {}).items()}
        result = self._traced(fn, args, kwargs) if req.get("trace") else fn(*args, **kwargs)
        return self.encode(result, req.get("keep"))

    def _traced(self, fn, args, kwargs):
        """Call fn while watching the submission's own functions return: which of them hold
        float32 (or float16) arrays, or return float64 arrays of float32 numbers -> self.trace
        (what computes in float32, for the grading side's choice of tolerance)."""
        np, scratch = self.np, self.scratch
        found, exact = {}, {}

        def float32_numbers(v):
            finite = v[np.isfinite(v)]
            if finite.size != v.size or not np.array_equal(finite.astype(np.float32).astype(np.float64), finite):
                return -1
            return int(np.count_nonzero(finite.astype(np.float16).astype(np.float64) != finite))

        def watch(frame, event, arg):
            if event != "return" or not frame.f_code.co_filename.startswith(scratch):
                return
            name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
            if name in found:
                return
            try:
                code = frame.f_code
                params = set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
                for label, v in list(frame.f_locals.items()):
                    if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.dtype.itemsize <= 4:
                        found[name] = f"{name} holds a {v.dtype} array ({label})"
                        return
                    if (label not in params and isinstance(v, np.ndarray) and v.dtype == np.float64
                            and float32_numbers(v) >= 2):
                        found[name] = f"{name} holds float32 numbers in a float64 array ({label})"
                        return
                if isinstance(arg, np.ndarray) and arg.dtype == np.float64 and arg.size:
                    n = float32_numbers(arg)
                    exact[name] = -1 if n < 0 or exact.get(name, 0) < 0 else exact.get(name, 0) + n
            except Exception:                   # a lying object among the locals: this function gives no evidence
                exact[name] = -1

        previous = sys.getprofile()
        sys.setprofile(watch)
        try:
            return fn(*args, **kwargs)
        finally:
            sys.setprofile(previous)
            self.trace = list(found.values()) + [f"{n} returns float32 numbers in float64 arrays"
                                                 for n, k in exact.items() if k >= 2 and n not in found]

    def op_getattr(self, req):
        obj = self.handles[req["handle"]]
        if not hasattr(obj, req["attr"]):
            raise _Missing(f"{type(obj).__name__}.{req['attr']}" + _defines_instead(req["attr"], dir(obj)))
        return self.encode(getattr(obj, req["attr"]), req.get("keep"))

    def op_setattr(self, req):
        obj = self.handles[req["handle"]]
        if not hasattr(obj, req["attr"]):
            # the contract's attribute is not there, but one named like it is: setting the
            # contract's name would only add an attribute the object's code never reads
            instead = _defines_instead(req["attr"], list(getattr(obj, "__dict__", {})))
            if instead:
                raise _Missing(f"{type(obj).__name__}.{req['attr']}" + instead)
        setattr(obj, req["attr"], self.resolve(req["value"]))
        return None

    def op_reseed(self, req):
        seed = req["seed"]
        return self.generators.seed(None if seed is None else int(seed))

    def op_release(self, req):
        self.handles.clear()
        return None

    def op_run_program(self, req):
        """Run a submitted file as `__main__` (like `python FILE ARGV...`) in a forked child.

        The child inherits this worker's limits, user, working directory (the scratch folder)
        and already-imported NumPy, so it starts at once. Request: path (relative to the
        scratch folder), argv (strings), outputs (relative paths: removed before the run, read
        back after it), timeout (s), max_bytes (kept per output file), max_output (bytes kept
        of what the program printed).
        -> {exit_code, signal, timed_out, seconds, files: {path: uint8 array of its bytes, or
            None when not written}, sizes: {path: size in bytes}, output: uint8 array}.
        """
        import signal
        np = self.np
        scratch = os.path.realpath(os.getcwd())

        def inside(rel):
            full = os.path.realpath(os.path.join(scratch, rel))
            if os.path.commonpath([full, scratch]) != scratch:
                raise ValueError(f"path {rel!r} leaves the scratch folder")
            return full

        def run_as_main(program, argv):
            """In the child: what `python program argv...` does -> exit code. Only modules the
            worker has already imported are used: as the unprivileged user, the interpreter's
            own files may not be readable (see PRELOAD)."""
            import builtins
            import tokenize
            import types
            warnings.resetwarnings()            # the worker records warnings; a program prints them
            warnings.simplefilter("default")
            warnings.showwarning = (lambda message, category, filename, lineno, file=None, line=None:
                                    sys.stderr.write(warnings.formatwarning(message, category, filename,
                                                                            lineno, line)))
            if not hasattr(builtins, "exit"):   # the worker runs without `site`, which defines them
                builtins.exit = builtins.quit = sys.exit
            sys.argv = [program] + argv
            main = types.ModuleType("__main__")
            main.__file__ = program
            main.__builtins__ = builtins
            sys.modules["__main__"] = main
            try:
                with tokenize.open(program) as f:      # honours a coding cookie, as python does
                    source = f.read()
                exec(compile(source, program, "exec"), main.__dict__)
                return 0
            except SystemExit as exc:           # sys.exit(code) / exit(code) / argparse errors
                if exc.code is None:
                    return 0
                if isinstance(exc.code, int):
                    return exc.code & 0xFF
                sys.stderr.write(f"{exc.code}\n")
                return 1
            except BaseException as exc:
                if isinstance(exc, SyntaxError) and exc.filename:
                    exc.filename = os.path.relpath(exc.filename, scratch)
                sys.stderr.write("Traceback (most recent call last):\n"
                                 + _student_trace(exc.__traceback__, scratch)
                                 + "".join(traceback.format_exception_only(type(exc), exc)))
                return 1
            finally:
                _flush_std_streams()

        program = inside(req["path"])
        if not os.path.isfile(program):
            raise FileNotFoundError(f"{req['path']} is not in the submission")
        outputs = [(rel, inside(rel)) for rel in req.get("outputs", [])]
        for _, full in outputs:         # a file left by an earlier run must not count as output
            if os.path.lexists(full):
                os.remove(full)
        capture = os.path.join(scratch, ".program-output")
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:                    # the child never returns into the worker's loop
            code = 1
            try:
                os.setpgid(0, 0)        # its own process group: a timeout kills all of it
                fd = os.open(capture, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.close(fd)
                code = run_as_main(program, [str(a) for a in req["argv"]])
            finally:
                os._exit(code)
        deadline = started + float(req.get("timeout", 60.0))
        timed_out, pause = False, 0.002
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() >= deadline:
                timed_out = True
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        seconds = time.monotonic() - started

        def read(path, limit, tail=False):
            with open(path, "rb") as f:
                if tail:
                    f.seek(max(0, os.path.getsize(path) - limit))
                return np.frombuffer(f.read(limit), dtype=np.uint8).copy()

        files, sizes = {}, {}
        for rel, full in outputs:
            written = os.path.isfile(full)
            sizes[rel] = os.path.getsize(full) if written else None
            files[rel] = read(full, int(req.get("max_bytes", 1 << 20))) if written else None
        output = read(capture, int(req.get("max_output", 4000)), tail=True) if os.path.isfile(capture) else None
        return self.encode({
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "timed_out": timed_out, "seconds": seconds, "files": files, "sizes": sizes,
            "output": output}, None)


class _Missing(Exception):
    """A name the contract asks for is not defined by the submission."""


def _defines_instead(name, names):
    """'; it defines X' for names like `name` (another case, `name` + more, a close spelling),
    or '' (the grading side turns it into "it defines `weight`")."""
    public = [n for n in names if isinstance(n, str) and not n.startswith("_") and n != name]
    low = name.lower()
    close = [n for n in public if n.lower().startswith(low)]
    close += [n for n in difflib.get_close_matches(name, public, n=3, cutoff=0.85) if n not in close]
    return "; it defines " + ", ".join(f"`{n}`" for n in close[:3]) if close else ""


# ---- packages the grader does not have --------------------------------------------------------

class _StandIns:
    """A submission may import a package the handout uses but grading does not need (nltk,
    sklearn, a course's own `mnist`). Such an import, made by the submission's own code, gets a
    stand-in module: while the file is being imported, using it does nothing (and is recorded);
    during a graded call, using it raises ModuleNotFoundError naming the package."""

    def __init__(self):
        self.scratch = None
        self.importing = False
        self.used = {}                  # package -> "file, line N: what was done with it"
        self._guarded = {}              # file -> lines of imports inside `try: ... except ImportError`

    def find_spec(self, fullname, path=None, target=None):
        import importlib.machinery
        top = fullname.split(".")[0]
        frame = self._student_frame()
        if top not in self.used and frame is None:
            return None                 # a library probing an optional package: a real ImportError
        if top not in self.used and frame[1] in self._guarded_lines(frame[0]):
            return None                 # the student's own fallback (`except ImportError:`) takes over
        if top not in self.used:
            self.used[top] = f"imported at {self._student_line()}"
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def _guarded_lines(self, filename):
        """Lines of imports that sit in a `try` whose handler catches ImportError (or broader)."""
        if filename not in self._guarded:
            import ast
            lines = set()
            try:
                with open(filename, "rb") as f:
                    tree = ast.parse(f.read())
            except (OSError, SyntaxError, ValueError):
                tree = None
            catching = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
            for node in ast.walk(tree) if tree is not None else ():
                if not isinstance(node, ast.Try):
                    continue
                names = set()
                for h in node.handlers:
                    types_ = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
                    names |= {"BaseException" if t is None else getattr(t, "id", getattr(t, "attr", ""))
                              for t in types_}
                if names & catching:
                    lines |= {n.lineno for s in node.body for n in ast.walk(s)
                              if isinstance(n, (ast.Import, ast.ImportFrom))}
            self._guarded[filename] = lines
        return self._guarded[filename]

    def create_module(self, spec):
        module = _StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        return None

    def _student_frame(self):
        """(file, line) of the submission's frame that is importing or using, or None."""
        if self.scratch is None:
            return None
        frame = sys._getframe(1)
        while frame is not None:            # past the import machinery and this file's frames
            name = frame.f_code.co_filename
            if name.startswith(self.scratch):
                return name, frame.f_lineno
            if not name.startswith("<frozen") and name != __file__:
                return None
            frame = frame.f_back
        return None

    def _student_line(self):
        """'file.py, line N' of the submission's frame that is importing, or '' if none is."""
        frame = self._student_frame()
        return f"{os.path.relpath(frame[0], self.scratch)}, line {frame[1]}" if frame else ""

    def use(self, path):
        """`path` (e.g. nltk.download(...)) is being used: fine while importing, else an error."""
        top = path.split(".")[0].split("(")[0]
        if not self.importing:
            raise ModuleNotFoundError(f"No module named '{top}': the grader does not have it, so "
                                      f"{path} cannot run", name=top)
        where = self._student_line()
        note = f"{path} at {where}" if where else path
        if note not in self.used.get(top, ""):
            self.used[top] = self.used.get(top, "") + f"; {note} did nothing"


STAND_INS = _StandIns()


class _StandInModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandInValue(f"{self.__name__}.{name}")


class _StandInValue:
    """Whatever a stand-in module hands out: every use goes through STAND_INS.use."""

    def __init__(self, path):
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandInValue(f"{self._path}.{name}")

    def __call__(self, *args, **kwargs):
        STAND_INS.use(f"{self._path}(...)")
        return _StandInValue(f"{self._path}(...)")

    def __iter__(self):
        STAND_INS.use(self._path)
        return iter(())

    def __repr__(self):
        return f"<stand-in for {self._path}>"


# ---- importing what can be imported ----------------------------------------------------------

def _risky(node, own):
    """After an import that hung or killed the process, which top-level statements are not run
    again: loops, bare calls (`main()`, `plt.show()`), with-blocks, ifs, and assignments that call
    the module's own functions or build comprehensions (training, loading data)."""
    import ast
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                         ast.Pass, ast.Global)):
        return False
    if isinstance(node, ast.Expr):
        return not isinstance(node.value, ast.Constant)         # a docstring is safe
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        stack = [node]
        while stack:                        # a lambda's body runs later, not now: not entered
            n = stack.pop()
            if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                return True
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in own:
                return True
            if not isinstance(n, ast.Lambda):
                stack.extend(ast.iter_child_nodes(n))
        return False
    if isinstance(node, ast.Try):
        return any(_risky(n, own) for part in [node.body, node.orelse, node.finalbody]
                   + [h.body for h in node.handlers] for n in part)
    return True


def _load_definitions(mod, scratch, cautious=False):
    """Import scratch/mod.py one top-level statement at a time, skipping each statement that
    fails (and, when `cautious`, every risky one: see _risky) -> (module, [skipped statements
    as text, with why])."""
    import ast
    import tokenize
    path = os.path.join(scratch, mod + ".py")
    with tokenize.open(path) as f:
        source = f.read()
    tree = ast.parse(source, path)
    lines = source.splitlines()
    own = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    module = types.ModuleType(mod)
    module.__file__ = path
    sys.modules[mod] = module
    skipped = []
    for node in tree.body:
        text = lines[node.lineno - 1].strip()[:60] if node.lineno <= len(lines) else ""
        if cautious and _risky(node, own):
            skipped.append(f"line {node.lineno}: {text}")
            continue
        code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec")
        try:
            exec(code, module.__dict__)
        except MemoryError:
            raise
        except BaseException as exc:        # this statement fails: the next ones still run
            helpers = _own_modules(node, scratch)
            if helpers:                     # a helper module of the submission failed: import it
                for name in helpers:        # the same way, then the statement again
                    _, more = _load_definitions(name, scratch, cautious)
                    skipped += [f"{name}.py {s}" for s in more]
                try:
                    exec(code, module.__dict__)
                    continue
                except MemoryError:
                    raise
                except BaseException as again:
                    exc = again
            skipped.append(f"line {node.lineno}: {text} ({type(exc).__name__}: {_text(exc, 80)})")
    return module, skipped


def _own_modules(node, scratch):
    """The submission's own modules (a .py beside it) that an import statement names and that
    are not imported (their import failed)."""
    import ast
    if isinstance(node, ast.Import):
        names = [a.name.split(".")[0] for a in node.names]
    elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
        names = [node.module.split(".")[0]]
    else:
        return []
    return [n for n in names if n not in sys.modules and os.path.isfile(os.path.join(scratch, n + ".py"))]


def _student_trace(tb, scratch):
    """Only the frames of the submission's own files."""
    frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith(scratch)]
    for f in frames:                  # scratch paths differ per run; results must not
        f.filename = os.path.relpath(f.filename, scratch)
    text = "".join(traceback.format_list(frames[-8:]))
    inner = None
    while tb is not None:             # the innermost frame in the submission, by qualified name
        if tb.tb_frame.f_code.co_filename.startswith(scratch):
            inner = getattr(tb.tb_frame.f_code, "co_qualname", tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return text + (f"innermost: {inner}\n" if inner and text else "")


# Imported before privileges are dropped: as the unprivileged user, the interpreter's own
# files may not be readable any more (e.g. a Python installed under /root).
PRELOAD = ("numpy", "math", "random", "re", "collections", "itertools", "functools", "copy",
           "json", "csv", "argparse", "time", "string", "pickle", "operator", "statistics",
           "typing", "dataclasses", "numbers", "decimal", "fractions", "heapq", "bisect",
           "numpy.linalg", "numpy.random",
           # what a submitted program's argparse and np.loadtxt/genfromtxt import lazily
           "locale", "shutil", "signal", "gzip", "ipaddress", "urllib.parse")


def _preload_matplotlib():
    """As root, for a submission that uses matplotlib: load it before privileges are dropped, with
    its data folder (fonts, styles) copied into the scratch folder. matplotlib resolves its font
    files to their real paths, which the unprivileged user may not read (a Python installed under
    /root), and it reopens them in every forked child (a program run): the copies stay readable,
    so `title`, `legend` and `savefig` work as in a normal run."""
    try:
        import io
        import shutil
        import matplotlib
        data = os.path.join(os.environ.get("MPLCONFIGDIR", os.getcwd()), "mpl-data")
        shutil.copytree(matplotlib.get_data_path(), data)
        matplotlib.get_data_path = lambda: data
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1], label="a")
        ax.set_title("t", fontweight="bold")
        ax.set_xlabel("x")
        ax.legend()
        fig.text(0.5, 0.5, "i", style="italic")
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    except Exception:               # no matplotlib here: the submission meets a stand-in or an error
        return


def _paths_through_descriptors():
    """Replace each import folder by /proc/self/fd/N, a descriptor opened while still privileged.

    As the unprivileged user the interpreter's own folders may be out of reach (a Python installed
    under /root); a lookup through an open descriptor checks only the folders below it, so the
    standard library and the installed packages stay importable on demand, extension modules
    included, without opening anything else. The harness's own folders are never on the path."""
    paths = []
    for p in sys.path:
        try:
            fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue                    # e.g. the zipped standard library that does not exist
        paths.append(f"/proc/self/fd/{fd}")
        PATH_FDS.append(fd)             # kept open in a worker forked by the fork server
    sys.path[:] = paths
    sys.path_importer_cache.clear()


def _text(value, limit=MAX_STR):
    """str(value), whatever the value's __str__ does (student objects may lie or raise)."""
    try:
        text = str(value)
        if type(text) is not str:
            raise TypeError
    except BaseException:
        try:
            text = object.__repr__(value)
        except BaseException:
            text = "?"
    return text[:limit]


def _student_location(tb, scratch):
    frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith(scratch)]
    if not frames:
        return ""
    return f"{os.path.relpath(frames[-1].filename, scratch)}, line {frames[-1].lineno}"


def _describe_failure(exc, op, scratch):
    """A student exception -> the reply's error record (category, type, message, traceback)."""
    category, message = P.FailureKind.EXCEPTION.value, _text(exc)
    if isinstance(exc, SyntaxError):        # also bad indentation and undecodable source files
        category = P.FailureKind.SYNTAX.value
        where = (os.path.relpath(exc.filename, scratch) if exc.filename.startswith(scratch)
                 else os.path.basename(exc.filename)) if exc.filename else ""
        place = ", ".join(p for p in (where, f"line {exc.lineno}" if exc.lineno else "") if p)
        message = _text(exc.msg) + (f" ({place})" if place else "")
        if "null bytes" in str(exc.msg):    # Python says no more (no file, no line)
            message += (": the file holds NUL bytes, so it is not Python source text (a file saved "
                        "as UTF-16 holds them, as does a binary file)")
    elif isinstance(exc, MemoryError):
        category = P.FailureKind.MEMORY.value
    elif isinstance(exc, SystemExit):
        message = f"sys.exit({_text(repr(exc.code))}) was called"
    elif op == "load":                      # e.g. a package that is not installed: say where
        where = _student_location(exc.__traceback__, scratch)
        message = f"{message} ({where})" if where else message
    if isinstance(exc, FileNotFoundError):
        # a data file read by a name the grading does not have (not handed in, or a name of the
        # student's own machine): what it does have
        message = f"{message}; the folder your code runs in holds: {_holding(scratch)}"
    return {"category": category, "type": type(exc).__name__, "message": message,
            "traceback": _student_trace(exc.__traceback__, scratch)}


def _holding(folder, most=20):
    """The entries of `folder` a submission may read (not hidden, not __pycache__), folders with a
    trailing /: "assignment2.py, tweets.pkl, utils.py"."""
    try:
        names = sorted(n + ("/" if os.path.isdir(os.path.join(folder, n)) else "")
                       for n in os.listdir(folder) if not n.startswith(".") and n != "__pycache__")
    except OSError as exc:
        return f"(not readable: {exc.strerror})"
    return (", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")) or "nothing"


def _drop_privileges(spec):
    import resource
    uid, gid, nproc = (int(x) for x in spec.split(":"))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


PATH_FDS = []                   # descriptors of the import folders (as root; see _paths_through_descriptors)
# numpy's and random's global generators start here in every worker: a submission that draws
# without a seed of its own meets the same numbers at every grading.
RANDOM_SEED = 0


class Generators:
    """The random generators a submission draws from without a seed of its own, seeded by the
    grader: NumPy's global one (np.random.rand, randn, ...), `random`'s, and the entropy behind
    an unseeded NumPy generator (np.random.default_rng(), PCG64(), RandomState()), which would
    otherwise come from the operating system and change at every grading.

    The objects are taken when the worker starts, before any student code runs: a submission that
    replaces np.random.seed or random.seed does not change what seeding does. `seed` also says
    whether anything drew from them since the last seeding or mark (their states moved, or an
    unseeded generator was made), which tells the grading side whether another seed could change
    a result.
    (`random.Random()` made by the submission and seeds taken from the clock stay unseeded.)"""

    def __init__(self, np):
        import random
        self.numpy = np.random.mtrand._rand             # what np.random.rand & co. draw from
        self.stdlib = random._inst                      # what random.random & co. draw from
        # the class's own functions, called on the instance: replacing them on it or on the class
        # later changes nothing here
        self.stdlib_seed, self.stdlib_state = random.Random.seed, random.Random.getstate
        self.module = _entropy_module(np)
        self.random = random.Random
        self.mark = None
        self.made = [0]

    def _state(self):
        keys = self.numpy.get_state(legacy=True)
        return ((keys[0], keys[1].tobytes(), int(keys[2]), int(keys[3]), float(keys[4])),
                self.stdlib_state(self.stdlib))

    def seed(self, seed):
        """Seed them all with `seed` (None: leave them as they are, only mark where they are now)
        -> whether anything drew from them since the last mark."""
        drew = self.mark is not None and (self.made[0] > 0 or self._state() != self.mark)
        if seed is None:
            self.made[0] = 0
            self.mark = self._state()
            return drew
        self.numpy.seed(seed)
        self.stdlib_seed(self.stdlib, seed)
        if self.module is not None:
            source, made = self.random(seed), [0]

            def randbits(k):
                made[0] += 1
                return source.getrandbits(k)
            self.module.randbits = randbits
            self.made = made
        self.mark = self._state()
        return drew


def _entropy_module(np):
    """The module whose `randbits` gives an unseeded NumPy generator its entropy (NumPy 1.17
    and later: `from secrets import randbits`), or None."""
    for name in ("bit_generator", "_bit_generator"):
        module = getattr(np.random, name, None)
        if module is not None and callable(getattr(module, "randbits", None)):
            return module
    return None


def _flush_std_streams():
    """Flush stdout and stderr before a process ends; the submission may have replaced or closed
    them, and then what it printed is lost: say so on the raw descriptor 2 instead."""
    for name in ("stdout", "stderr"):
        try:
            getattr(sys, name).flush()
        except Exception as exc:
            try:
                os.write(2, f"\n[grader] sys.{name} could not be flushed: {type(exc).__name__}\n".encode())
            except OSError:
                return          # descriptor 2 is closed too: nowhere left to say it


def main(argv):
    if argv[1] == "--server":
        return _fork_server(int(argv[2]), argv[3] == "root", argv[4:])
    fd_in, fd_out = int(argv[1]), int(argv[2])
    scratch, drop = argv[3], argv[4]
    _prepare(argv[5:], drop != "-")
    return _serve(fd_in, fd_out, scratch, drop)


def _prepare(site_dirs, privileged):
    """What every worker loads before it knows its submission: the import path (through
    descriptors as root), the protocol module, and the preloaded modules."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here] + list(site_dirs)
    if privileged:
        _paths_through_descriptors()
    global P
    P = _load_protocol()
    import importlib
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def _fork_server(ctrl, privileged, site_dirs):
    """The fork server (a batch's warm workers): prepared once like a worker, it never imports
    student code; for each request on the control socket (a pickled dict from the grading
    process, with the worker's three pipe ends attached) it forks a worker that becomes exactly
    what `python worker.py` would be, and answers its PID. The worker is forked twice over, so
    that it is re-parented to the grading process (a child subreaper), which reaps it and reads
    its exit status as for a worker it started itself. End of file on the socket: exit."""
    import pickle
    import signal
    import socket
    # A Ctrl-C reaches the whole terminal group: the grading process ends this server (end of file
    # on the socket), and each worker restores the signals for itself (`_serve`).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _prepare(site_dirs, privileged)
    import ctypes
    import resource  # noqa: F401  (what a forked worker needs before it may read the interpreter's files)
    ctypes.CDLL(None)
    sock = socket.socket(fileno=ctrl)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 3)
        except OSError:
            return 0
        if not msg:
            return 0
        req = pickle.loads(msg)             # the grading process's own request (trusted direction)
        if "kill_uid" in req:
            for fd in fds:
                os.close(fd)
            sock.sendall(b"1" if _kill_uid(int(req["kill_uid"])) else b"0")
            continue
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            child = os.fork()
            if child == 0:
                os.close(w)
                _forked_worker(sock, fds, req)
            os.write(w, str(child).encode())
            os._exit(0)
        os.close(w)
        for fd in fds:
            os.close(fd)                    # else the grading side would never see the worker's end
        with os.fdopen(r, "rb") as f:
            answer = f.read()
        os.waitpid(pid, 0)
        sock.sendall(answer or b"0")


def _kill_uid(uid):
    """The fork server's part of `containment.kill_user`: a helper forked from this small process
    takes the uid and signals -1 (the kernel's one pass over all of the user's processes) -> it ran."""
    import signal
    if uid <= 0:
        return False
    pid = os.fork()
    if pid == 0:                            # only system calls, then _exit
        code = 1
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _forked_worker(sock, fds, req):
    """In the worker forked by the server: what Popen and the worker's own start do (a session of
    its own, standard streams on the output pipe, no other descriptor, the environment, the
    limits), then serve. Never returns."""
    code = 127
    try:
        import ctypes
        import resource
        sock.close()
        os.setsid()
        fd_in, fd_out, out = fds
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        keep = sorted({0, 1, 2, fd_in, fd_out, *PATH_FDS})
        for low, high in zip(keep, keep[1:] + [resource.getrlimit(resource.RLIMIT_NOFILE)[0]]):
            os.closerange(low + 1, high)
        os.environ.clear()
        os.environ.update(req["env"])
        os.chdir(req["scratch"])
        for which, soft, hard in req["rlimits"]:
            resource.setrlimit(which, (soft, hard))
        ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)     # PR_SET_NO_NEW_PRIVS, as the started worker
        code = _serve(fd_in, fd_out, req["scratch"], req["drop"])
    except BaseException:
        traceback.print_exc()
    finally:
        _flush_std_streams()
        os._exit(code or 0)


def _serve(fd_in, fd_out, scratch, drop):
    import signal
    # The submission meets the signals as a Python program started alone does, whatever the
    # grading process (or the fork server, which ignores a Ctrl-C) had them set to.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if drop != "-" and os.environ.get("NNGRADER_PRELOAD") == "matplotlib":
        _preload_matplotlib()
    if drop != "-":
        _drop_privileges(drop)
    os.umask(0o077)
    sys.path.insert(0, scratch)
    os.chdir(scratch)
    STAND_INS.scratch = scratch
    sys.meta_path.append(STAND_INS)             # last: only what no real finder found
    import pickle
    import numpy as np
    generators = Generators(np)
    generators.seed(RANDOM_SEED)
    import gc
    # What is loaded now (the interpreter, NumPy, the preloaded modules) is never garbage:
    # collections skip it, so a full one costs what the submission made, and a forked worker
    # leaves the server's pages shared instead of writing to every one of them.
    gc.freeze()
    worker = Worker(np, {}, scratch)
    worker.generators = generators
    P.send(fd_out, (P.READY, None, {}), pickle)     # started: no student code has run yet
    while True:
        try:
            req = P.receive(fd_in, pickle)
        except EOFError:
            return 0
        if req["op"] == P.Op.BATCH:
            # several requests, one reply each, in order; the first that does not succeed ends
            # the batch (what it printed is the last thing printed, and nothing after it runs).
            # A request may pass on what an earlier one of the batch returned (Tag.RESULT).
            worker.results = []
            try:
                for one in req["requests"]:
                    reply = _reply(worker, one, np, scratch, fd_out, pickle)
                    if reply[0] != P.REPLY_OK:
                        break
                    worker.results.append(reply[1])
            finally:
                worker.results = None
            continue
        _reply(worker, req, np, scratch, fd_out, pickle)


def _reply(worker, req, np, scratch, fd_out, pickle):
    """Run one request and send its reply -> the reply."""
    op = getattr(worker, "op_" + req["op"])
    started = time.perf_counter()
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="warn"):
                value = op(req)
        reply = (P.REPLY_OK, value, {"seconds": time.perf_counter() - started,
                               "warnings": [_text(f"{w.category.__name__}: {_text(w.message)}", 300)
                                            for w in caught[:20]],
                               "float32": [_text(t, 200) for t in worker.trace[:5]]})
        worker.trace = []
    except _Missing as exc:
        reply = (P.REPLY_ERROR, {"category": P.FailureKind.MISSING.value, "type": "AttributeError",
                           "message": str(exc), "traceback": ""})
    except NotImplementedError as exc:
        reply = (P.REPLY_ERROR, {"category": P.FailureKind.NOT_IMPLEMENTED.value, "type": "NotImplementedError",
                           "message": _text(exc),
                           "traceback": _student_trace(exc.__traceback__, scratch)})
    except BaseException as exc:           # student code may raise anything, even SystemExit
        reply = (P.REPLY_ERROR, _describe_failure(exc, req["op"], scratch))
    try:
        P.send(fd_out, reply, pickle)
    except Exception as exc:               # e.g. an unpicklable message text
        reply = (P.REPLY_ERROR, {"category": P.FailureKind.EXCEPTION.value, "type": type(exc).__name__,
                                 "message": "result could not be sent back: " + str(exc)[:200],
                                 "traceback": ""})
        P.send(fd_out, reply, pickle)
    return reply

if __name__ == "__main__":
    sys.exit(main(sys.argv))
