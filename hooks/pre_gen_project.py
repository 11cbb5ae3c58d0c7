"""The second line of the answer checks, and the warnings.

The rules live in `answer_rules.py` (one `check.require(...)` each). `answer_checks.py` applies them
while cookiecutter renders the answers, before anything exists on disk, and stops a refused render
there: every problem on one line each, no traceback. This hook gets the findings of the same rules
through the same extension (`answer_findings`) and prints them: the warnings (a host that does not
look like the chosen cloud's) on every render, and the problems of a render that skipped that step
(`cookiecutter --replay` reuses the stored `__project_folder` instead of rendering it), exit 1.
Cookiecutter then removes the project folder and prints its traceback; that path is the exception.

Validation only: no network, deterministic, and it never changes an answer (cruft replays the stored
answers on every update). Findings arrive as JSON, never pasted into Python source.
"""

import json
import sys

FINDINGS = json.loads(r"""{{ cookiecutter | answer_findings | tojson }}""")

if __name__ == "__main__":
    for line in FINDINGS["warnings"] + FINDINGS["errors"]:
        print(line, file=sys.stderr)
    sys.exit(1 if FINDINGS["errors"] else 0)
