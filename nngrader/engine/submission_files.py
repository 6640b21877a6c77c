"""Submissions as students hand them in: a notebook instead of the expected `.py`, and a `.zip`
of the submission folder. Each turns into plain files before staging, with a note saying what
was done; nothing of the student's is run here.
"""
import os
import stat
import warnings
import zipfile

# Cell magics whose body is Python that Jupyter runs (timed or captured): the body is kept.
PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")
# Archive policy: what a submitted .zip may unpack to (more is left out, with a note).
MAX_ARCHIVE_FILES = 500
MAX_ARCHIVE_BYTES = 64 * 1024 ** 2
SKIPPED_ARCHIVE_DIRS = ("__MACOSX",)


def notebook_source(path):
    """A notebook's code cells as one Python file -> (source, [notes]).

    IPython magics (`%matplotlib inline`, `%%time`) and shell lines (`!pip install nltk`) are not
    Python: they are dropped, and the note says how many. Each cell is marked with a comment, so
    a line number in the feedback can be found in the notebook."""
    import nbformat     # here, not at the top: only a notebook needs it, and it costs every grading 0.07 s
    with warnings.catch_warnings():         # notebooks of older Jupyter versions have no cell ids
        warnings.filterwarnings("ignore", message="Cell is missing an id field")
        nb = nbformat.read(path, as_version=4)
    parts, dropped, cells = [], 0, []
    for n, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            if lines[0].split()[0] not in PYTHON_CELL_MAGICS:
                cells.append(f"{n} ({lines[0].split()[0]})")   # %%bash, %%writefile...: not Python
                continue
        kept = []
        for line in lines:
            stripped = line.strip()
            help_line = stripped.endswith("?") and "#" not in stripped or stripped.startswith("?")
            if line.lstrip().startswith(("%", "!")) or help_line:
                dropped += 1
                indent = line[:len(line) - len(line.lstrip())]
                kept.append(f"{indent}pass  # dropped: {line.strip()[:60]}")    # keeps blocks and lines
            else:
                kept.append(line)
        parts.append(f"# --- notebook cell {n} ---\n" + "\n".join(kept))
    notes = []
    if dropped:
        notes.append(f"{dropped} IPython magic, help or shell line(s) of {os.path.basename(path)} were dropped "
                     "(they are not Python)")
    if cells:
        notes.append(f"cell(s) {', '.join(cells)} of {os.path.basename(path)} were left out: their cell magic "
                     "runs something other than Python")
    return "\n\n".join(parts) + "\n", notes


def unpack_archive(path, into):
    """Unpack a submitted .zip into the folder `into`, safely -> [notes].

    No entry may leave the folder (absolute paths, `..`), links are not created, and at most
    MAX_ARCHIVE_FILES files and MAX_ARCHIVE_BYTES bytes are written (counted as they are read,
    whatever the archive claims)."""
    notes, refused, beyond = [], [], []
    count = total = 0
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"{os.path.basename(path)} is not a readable zip archive ({exc}); nothing was unpacked"]
    with archive:
        for info in archive.infolist():
            name = info.filename
            parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
            mode = info.external_attr >> 16
            if info.is_dir() or not parts or parts[0] in SKIPPED_ARCHIVE_DIRS:
                continue
            if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0] or stat.S_ISLNK(mode):
                refused.append(name)
                continue
            if count + 1 > MAX_ARCHIVE_FILES:
                beyond.append(name)
                continue
            target = os.path.join(into, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            written = 0
            with archive.open(info) as src, open(target, "wb") as dst:
                while True:
                    chunk = src.read(1 << 16)
                    if not chunk:
                        break
                    written += len(chunk)
                    if total + written > MAX_ARCHIVE_BYTES:
                        break
                    dst.write(chunk)
            if total + written > MAX_ARCHIVE_BYTES:
                os.remove(target)
                beyond.append(name)
                continue
            count, total = count + 1, total + written
    if refused:
        notes.append(f"{len(refused)} entr{'y' if len(refused) == 1 else 'ies'} of {os.path.basename(path)} "
                     f"pointing outside the submission or being links were not unpacked: {', '.join(refused[:3])}")
    if beyond:
        notes.append(f"{len(beyond)} file(s) of {os.path.basename(path)} were not unpacked (beyond "
                     f"{MAX_ARCHIVE_FILES} files or {MAX_ARCHIVE_BYTES // 1024 ** 2} MiB): {', '.join(beyond[:3])}")
    return notes


def lone_archive(folder, wanted):
    """The one .zip of a submission folder that holds none of the assignment's files (`wanted`)
    -> its path (unpacked and graded as the folder), or None. Hidden entries and `__MACOSX/` do
    not count; with two archives, neither is chosen."""
    archives = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_ARCHIVE_DIRS)
        for f in files:
            if f in wanted:
                return None
            if f.endswith(".zip") and not f.startswith(".") and not os.path.islink(os.path.join(root, f)):
                archives.append(os.path.join(root, f))
    return archives[0] if len(archives) == 1 else None
