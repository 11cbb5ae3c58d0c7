"""Jinja filters of the template, loaded by cookiecutter through `_extensions` in cookiecutter.json.

Cookiecutter imports this module from the template's root (a path render, `cruft create` and
`cruft update` all put it on the import path). Standard library and Jinja only, deterministic.

- `quoted`: every answer written into a TOML, YAML or JSON file goes through it, so the file reads
  the answer back as the same string: `null`, `on`, `0x10` or `~` stay strings, and an emoji stays
  one UTF-8 character (Jinja's `tojson` writes it as a surrogate pair, which TOML refuses).
- `project_folder`: the project folder is the one thing cookiecutter creates before the
  pre-generation hook runs, with every missing parent, and on a hook failure it removes the folder
  but not those parents. `__project_folder` in cookiecutter.json runs this filter while the answers
  are rendered, before anything exists on disk, and a slug that would leave the output folder stops
  cookiecutter there with the hook's one-line error.

`cruft update` renders the old and the new template in one process, and Python imports this module
once: the old release's filters then render the new one too. Never change what an existing filter
writes; add a filter (or a module with a new name) instead.
"""

import json
import re
import sys
from pathlib import PurePosixPath, PureWindowsPath

from jinja2.ext import Extension

# Written as \uXXXX escapes, which JSON, YAML and TOML all read: DEL and the C1 controls (TOML and
# YAML refuse them raw), the characters YAML reads as line breaks or refuses (U+2028, U+2029,
# U+FEFF, U+FFFE, U+FFFF) and lone surrogates. JSON escapes the controls below 0x20 itself.
_ESCAPED = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def quoted(value):
    """`value` as a double-quoted string that JSON, YAML and TOML read back unchanged."""
    if not isinstance(value, str):
        raise TypeError(f"quoted expects a string, got {value!r}")
    text = json.dumps(value, ensure_ascii=False)
    return _ESCAPED.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def escapes_output_folder(name):
    """True when `name`, as a folder name, is not one plain folder inside the output folder."""
    return (
        name in ("", ".", "..")
        or PurePosixPath(name).name != name
        or PureWindowsPath(name).name != name
    )


def project_folder(answers):
    """The project folder name (the slug), or a one-line error and exit 1 when it would escape."""
    slug = answers["project_slug"]
    if not escapes_output_folder(slug):
        return slug
    # Name the question the user typed: the slug is derived from project_name unless overridden
    # (the derivation of "project_slug" in cookiecutter.json).
    derived = answers["project_name"].lower().replace(" ", "-")
    question = "project_name" if slug == derived else "project_slug"
    value = json.dumps(answers[question])
    print(
        f"ERROR: {question}={value} makes the project folder {json.dumps(slug)}, which is not a "
        "single folder inside the output folder (expected a name without /, \\ or a drive, "
        "and not . or ..)",
        file=sys.stderr,
    )
    # Cookiecutter has not created anything yet; stop before it does.
    raise SystemExit(1)


class AnswerFilters(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["quoted"] = quoted
        environment.filters["project_folder"] = project_folder
