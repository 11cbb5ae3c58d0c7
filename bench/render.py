"""Render-time benchmark: prints figures, asserts nothing (targets live here, not in timed tests).

Median wall time of `cookiecutter --no-input` for the default and the fullest variant (5 runs each,
the CLI as a user runs it), each as a ratio to the floor measured in the same run: the median of
`python -c "import cookiecutter.main"`, what any render pays before it reads the template. The
runs alternate (floor, default, fullest, floor, ...), so a machine that slows down mid-run slows all
three alike. Then the time to render the whole variant matrix once.

Target (issue 12): the fullest render within 1.5x the floor.
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


def floor():
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import cookiecutter.main"], check=True)
    return time.perf_counter() - started


def main():
    measures = {"floor": floor, "default": lambda: render({}), "fullest": lambda: render(FULLEST)}
    times = {name: [] for name in measures}
    for _ in range(RUNS):
        for name, measure in measures.items():
            times[name].append(measure())
    base = statistics.median(times["floor"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:8s} median {median:.3f} s over {RUNS} runs, {median / base:.2f}x the floor")
    variants = all_variants()
    started = time.perf_counter()
    for answers in variants:
        render(answers)
    print(f"render matrix   {len(variants)} variants in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
