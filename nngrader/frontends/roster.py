"""Who handed in each submission of a Gradescope export.

Gradescope's "Export Submissions" gives a zip whose top folder (`assignment_<id>_export/`)
holds one folder per submission (`submission_<id>/`, the student's files) and
`submission_metadata.yml`, which maps each of those folder names to its submitters (one, or
several for a group submission) in Ruby's YAML:

    submission_48213077:
      :submitters:
      - :name: Grace Hopper
        :sid: '3141592'
        :email: grace@university.edu
      :created_at: 2026-10-02 17:04:11.523000000 -07:00
      :score: 0.0

`batch` reads it so that grades.csv names the students (one row per submitter) instead of
Gradescope's submission ids. Only `:submitters` and their `:name`, `:sid` and `:email` are read;
any other field, and any Ruby type tag, is accepted and ignored.
"""
import os

import yaml

ROSTER_FILE = "submission_metadata.yml"
FIELDS = ("name", "sid", "email")       # each submitter's, in the order grades.csv shows them


class RosterError(Exception):
    """The export's submission_metadata.yml cannot be read as Gradescope writes it."""


class _Loader(yaml.SafeLoader):
    """Safe YAML that reads a value with a type tag it does not know (`!ruby/object:...`) as
    the plain mapping, list or text the tag is attached to."""


def _untagged(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _untagged)
_Loader.add_multi_constructor("tag:", _untagged)


def export_folder(folder):
    """The folder that holds the submissions of `folder`: `folder` itself, or the single folder
    it holds (apart from hidden ones and `__MACOSX`) when that one holds submission_metadata.yml
    and `folder` does not (an export unzipped with its top folder)."""
    if os.path.isfile(os.path.join(folder, ROSTER_FILE)):
        return folder
    inside = [n for n in os.listdir(folder) if not n.startswith(".") and n != "__MACOSX"]
    if len(inside) == 1:
        only = os.path.join(folder, inside[0])
        if os.path.isdir(only) and os.path.isfile(os.path.join(only, ROSTER_FILE)):
            return only
    return folder


def load(folder):
    """`folder`'s submission_metadata.yml -> {submission folder name: [{name, sid, email}]}, or
    None when there is none. Raises RosterError, naming the file and what is wrong, when it is
    there but is not a roster."""
    path = os.path.join(folder, ROSTER_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as f:
            doc = yaml.load(f, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise RosterError(f"{path} is not readable YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path} cannot be read: {exc}") from None
    if not isinstance(doc, dict):
        raise RosterError(f"{path} should map each submission folder to its submitters; it holds "
                          f"{type(doc).__name__ if doc is not None else 'nothing'}")
    roster = {}
    for key, entry in doc.items():
        where = f"{path}, entry {key!r}"
        submitters = _field(entry, "submitters") if isinstance(entry, dict) else None
        if not isinstance(submitters, list) or not submitters:
            raise RosterError(f"{where}: no ':submitters:' list (Gradescope lists who handed the "
                              f"submission in there)")
        people = []
        for person in submitters:
            if not isinstance(person, dict):
                raise RosterError(f"{where}: a submitter is {type(person).__name__}, not a mapping of "
                                  f"':name:', ':sid:', ':email:'")
            people.append({f: _text(_field(person, f)) for f in FIELDS})
        roster[str(key)] = people
    return roster


def _field(mapping, name):
    """`:name` as Gradescope writes it (a Ruby symbol), or `name`."""
    for key in (":" + name, name):
        if key in mapping:
            return mapping[key]
    return None


def _text(value):
    return "" if value is None else str(value)
