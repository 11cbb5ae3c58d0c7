"""Jinja filters of the template, loaded by cookiecutter through `_extensions` in cookiecutter.json.

Cookiecutter imports this module from the template's root (a path render, `cruft create` and
`cruft update` all put it on the import path). Standard library and Jinja only, deterministic.

- `quoted`: every answer written into a TOML, YAML or JSON file goes through it, so the file reads
  the answer back as the same string: `null`, `on`, `0x10` or `~` stay strings, and an emoji stays
  one UTF-8 character (Jinja's `tojson` writes it as a surrogate pair, which TOML refuses).
- `project_folder` lived here until the answer checks moved to `answer_checks.py` (listed after
  this module in `_extensions`, so its filter wins even where an older copy of this module, imported
  first by `cruft update`, still registers one; `cruft update` renders the old template first, so
  an old template never meets this copy).

`cruft update` renders the old and the new template in one process, and Python imports this module
once: the old release's filters then render the new one too. Never change what an existing filter
writes; add a filter (or a module with a new name) instead.
"""

import json
import re

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


class AnswerFilters(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["quoted"] = quoted
