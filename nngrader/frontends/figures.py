"""The class at a glance: matplotlib figures of a batch, saved as PNG (Agg: no display needed).

- `scores.png`: the histogram of total scores;
- `pass_rate.png`: the pass rate of each check, the hardest at the top;
- `diagnoses.png`: the most frequent named mistakes and hints of failing checks;
- `loss_curves.png` (assignments with `training` checks): every student's loss on the check's
  first example against the reference's, one panel per check.

Each PNG carries its title and axis labels as text chunks (`Title`, `Description`), so a
program can tell what a file shows without looking at it. `loss_curve()` draws one student's
curve against the reference's (a single grade's `--loss-curve`).
"""
import math
import os
import pickle
import signal
import traceback

from nngrader.boundary import containment

MAX_DIAGNOSES = 15
MAX_CURVE_PANELS = 4
SCORE_COLOR = "#3b6ea8"
REFERENCE_COLOR = "#d62728"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    ax = fig.axes[0]
    title = fig._suptitle.get_text() if fig._suptitle is not None else ax.get_title()
    labels = "; ".join(f"{a.get_title() or 'panel'}: x = {a.get_xlabel()}, y = {a.get_ylabel()}" for a in fig.axes)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Title": title, "Description": labels,
                                                              "Software": "nngrader"})
    _pyplot().close(fig)
    return os.path.basename(path)


def score_histogram(asg, states):
    plt = _pyplot()
    totals = [s["row"]["total"] for s in states]
    fig, ax = plt.subplots(figsize=(7, 4))
    top = float(asg.max_points) or 1.0
    bins = min(20, max(5, int(top))) if top >= 5 else 10
    edges = [top * i / bins for i in range(bins + 1)]
    ax.hist(totals, bins=edges, color=SCORE_COLOR, edgecolor="white")
    if totals:
        mean = sum(totals) / len(totals)
        ax.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.1f}")
        ax.legend(loc="upper left")
    ax.set_xlim(0, top)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{asg.id}: total scores of {len(totals)} submissions")
    ax.set_xlabel(f"total score (points, out of {asg.max_points:g})")
    ax.set_ylabel("submissions")
    return fig


def pass_rates(asg, summary):
    plt = _pyplot()
    rows = [c for c in summary["checks"] if c["pass_rate"] is not None]
    rows.sort(key=lambda c: (-c["pass_rate"], c["name"]))       # barh draws upwards: hardest on top
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
    rates = [100 * c["pass_rate"] for c in rows]
    colors = [plt.cm.RdYlGn(r / 100) for r in rates]
    ax.barh([c["name"] for c in rows], rates, color=colors, edgecolor="grey")
    for i, r in enumerate(rates):
        if r > 90:          # no room right of the bar: inside its end, white on the dark green
            ax.text(r - 1, i, f"{r:.0f}%", va="center", ha="right", fontsize=8, color="white")
        else:
            ax.text(r + 1, i, f"{r:.0f}%", va="center", fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_title(f"{asg.id}: pass rate per check ({summary['submissions']} submissions), hardest on top")
    ax.set_xlabel("submissions passing the check (%)")
    ax.set_ylabel("check")
    return fig


def frequent_diagnoses(asg, summary):
    plt = _pyplot()
    rows = summary["diagnoses"][:MAX_DIAGNOSES][::-1]           # the most frequent on top
    fig, ax = plt.subplots(figsize=(9, 0.35 * max(len(rows), 3) + 1.5))
    if rows:
        ax.barh([r["what"] for r in rows], [r["submissions"] for r in rows], color=SCORE_COLOR)
        ax.xaxis.get_major_locator().set_params(integer=True)
    else:
        ax.text(0.5, 0.5, "no failing check named a mistake or gave a hint", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_title(f"{asg.id}: most frequent diagnoses of failing checks")
    ax.set_xlabel("submissions")
    ax.set_ylabel("named mistake or hint")
    ax.tick_params(axis="y", labelsize=8)
    return fig


def class_loss_curves(asg, states, reference_curves):
    """One panel per training check: each student's losses (grey) and the reference's (red),
    on the check's first example."""
    plt = _pyplot()
    names = [c.name for c in asg.checks if c.kind == "training" and c.name in reference_curves]
    names = names[:MAX_CURVE_PANELS]
    if not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        ref = reference_curves[name]
        ref_ys = [math.nan if v is None else v for v in ref["losses"]]
        finite = [v for v in ref_ys if math.isfinite(v)] or [1.0]
        # the axis shows the reference's range (and some): a diverging curve leaves the plot, counted
        top = max(finite) + 1.5 * (max(finite) - min(0.0, min(finite)) or 1.0)
        drawn = beyond = 0
        for s in states:
            mine = s.get("loss_curves", {}).get(name)
            if not mine or mine["dims"] != ref["dims"] or mine["seed"] != ref["seed"]:
                continue            # another example: not comparable with the reference's curve
            ys = [math.nan if v is None else v for v in mine["losses"]]
            ax.plot(range(len(ys)), ys, color="grey", alpha=0.35, linewidth=1,
                    label="students" if drawn == 0 else None)
            drawn += 1
            beyond += any(not math.isfinite(v) or v > top for v in ys)
        ax.plot(range(len(ref_ys)), ref_ys, color=REFERENCE_COLOR, linewidth=2, linestyle="--", label="reference")
        ax.set_ylim(min(0.0, min(finite)), top)
        dims = ", ".join(f"{k}={v}" for k, v in ref["dims"].items())
        ax.set_title(f"{name} ({drawn} students" + (f", {beyond} off the scale" if beyond else "")
                     + (f"; {dims}" if dims else "") + ")", fontsize=10)
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        ax.legend(loc="upper right")
    fig.suptitle(f"{asg.id}: the class's loss curves against the reference's")
    return fig


def loss_curve(asg, check, student, reference, label):
    """One student's losses on a training check's first example against the reference's."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for curve, color, name, style in ((student, SCORE_COLOR, label, "-"), (reference, REFERENCE_COLOR, "reference", "--")):
        if curve:
            ys = [math.nan if v is None else v for v in curve["losses"]]
            ax.plot(range(len(ys)), ys, color=color, linewidth=2, linestyle=style, label=name)
    dims = ", ".join(f"{k}={v}" for k, v in (reference or student)["dims"].items())
    ax.set_title(f"{asg.id} › {check}: your loss against the reference's ({dims})")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.legend()
    return fig


FILES = ("scores.png", "pass_rate.png", "diagnoses.png", "loss_curves.png")     # what write_all may write


def write_all(out_dir, asg, states, summary, reference_curves):
    """Write every figure of the batch into out_dir -> their file names."""
    return [name for part in (0, 1) for name in _write_part(part, out_dir, asg, states, summary, reference_curves)]


def _write_part(part, out_dir, asg, states, summary, reference_curves):
    """Half of write_all's figures (two drawing processes share them)."""
    if part == 0:
        return [_save(score_histogram(asg, states), os.path.join(out_dir, FILES[0])),
                _save(pass_rates(asg, summary), os.path.join(out_dir, FILES[1]))]
    written = [_save(frequent_diagnoses(asg, summary), os.path.join(out_dir, FILES[2]))]
    fig = class_loss_curves(asg, states, reference_curves)
    if fig is not None:
        written.append(_save(fig, os.path.join(out_dir, FILES[3])))
    return written


class Drawer:
    """The batch's figures drawn by a process forked when the batch starts: it loads matplotlib
    (0.4 s) while the batch grades, and at the end draws half of the figures while a fork of it
    draws the other half, so the batch's last step takes a fraction of drawing them in turn.
    `write_all` gives the file names, or raises with the drawing process's traceback."""

    def __init__(self, asg):
        self.asg = asg
        self.pid = None
        data_r, self._data_w = os.pipe()
        self._answer_r, answer_w = os.pipe()
        command = os.getpid()
        pid = os.fork()
        if pid == 0:                                # the drawing process
            code = 1
            try:
                # A Ctrl-C or a SIGTERM to the command's group is the command's to handle (it may
                # still want the figures of what was graded); the command killed outright ends it
                # (processes forked later hold the data pipe open: it would wait forever).
                for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_IGN)
                containment.end_with_parent(signal.SIGKILL, command)
                os.close(self._data_w)
                os.close(self._answer_r)
                code = _draw_when_told(asg, data_r, answer_w)
            finally:
                os._exit(code)
        os.close(data_r)
        os.close(answer_w)
        self.pid = pid

    def write_all(self, out_dir, states, summary, reference_curves):
        try:
            data_w, self._data_w = self._data_w, None
            with os.fdopen(data_w, "wb") as f:
                pickle.dump((out_dir, states, summary, reference_curves), f, protocol=pickle.HIGHEST_PROTOCOL)
            answer_r, self._answer_r = self._answer_r, None
            with os.fdopen(answer_r, "rb") as f:
                answer = f.read()
        finally:
            self.close()
        if not answer:
            raise RuntimeError("the process drawing the batch's figures ended without an answer")
        ok, value = pickle.loads(answer)
        if not ok:
            raise RuntimeError(f"drawing the batch's figures failed:\n{value}")
        return value

    def close(self):
        """End the drawing process (without drawing, if it was not told to) and reap it."""
        for fd in (self._data_w, self._answer_r):
            if fd is not None:
                os.close(fd)
        self._data_w = self._answer_r = None
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None


def _draw_when_told(asg, data_r, answer_w):
    """In the drawing process: load matplotlib, wait for the batch's data, draw (half here, half
    in a fork), answer (True, names) or (False, traceback)."""
    try:
        _pyplot()
        with os.fdopen(data_r, "rb") as f:
            data = f.read()
        if not data:
            return 0                # the batch ended without figures (closed or interrupted)
        out_dir, states, summary, curves = pickle.loads(data)
        other_r, other_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(other_r)
                code = _answer(other_w, _attempt(lambda: _write_part(1, out_dir, asg, states, summary, curves)))
            finally:
                os._exit(code)
        os.close(other_w)
        mine = _attempt(lambda: _write_part(0, out_dir, asg, states, summary, curves))
        with os.fdopen(other_r, "rb") as f:
            theirs = f.read()
        os.waitpid(pid, 0)
        theirs = pickle.loads(theirs) if theirs else (False, "the second drawing process ended without an answer")
        result = (mine[0] and theirs[0], mine[1] + theirs[1] if mine[0] and theirs[0]
                  else "\n".join(v for ok, v in (mine, theirs) if not ok))
    except BaseException:
        result = (False, traceback.format_exc())
    return _answer(answer_w, result)


def _attempt(draw):
    try:
        return True, draw()
    except BaseException:
        return False, traceback.format_exc()


def _answer(fd, result):
    """Send (ok, names or traceback) to the waiting process -> the exit code."""
    with os.fdopen(fd, "wb") as f:
        f.write(pickle.dumps(result))
    return 0


def write_loss_curve(path, asg, check, student, reference, label):
    return _save(loss_curve(asg, check, student, reference, label), path)
