"""Render-time benchmark: prints figures, asserts nothing (targets live here, not in timed tests).

Median wall time of `cookiecutter --no-input` for the default and the fullest variant (5 runs each,
the CLI as a user runs it), then the time to render the whole variant matrix once. Target: a render
under 0.6 s.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from variants import TEMPLATE, all_variants  # noqa: E402

COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")
RUNS = 5
FULLEST = {
    "include_feature_store": "yes",
    "include_serving": "yes",
    "include_monitoring": "yes",
    "compute": "classic",
}


def render(answers):
    with tempfile.TemporaryDirectory() as output:
        arguments = [f"{key}={value}" for key, value in answers.items()]
        started = time.perf_counter()
        subprocess.run(
            [str(COOKIECUTTER), "--no-input", str(TEMPLATE), "--output-dir", output, *arguments],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


def main():
    for name, answers in (("default", {}), ("fullest", FULLEST)):
        times = [render(answers) for _ in range(RUNS)]
        print(f"render {name:8s} median {statistics.median(times):.3f} s over {RUNS} runs")
    variants = all_variants()
    started = time.perf_counter()
    for answers in variants:
        render(answers)
    print(f"render matrix   {len(variants)} variants in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
