"""Local lifecycle benchmark: prints figures, asserts nothing.

Renders the default variant, installs it into a fresh virtual environment (pinned dependencies,
so the first install downloads pyspark, mlflow and scikit-learn), then prints the wall time of
`python -m <package> local-run`, first and second run (the second validates a new version against
the first champion). Target: under 60 s per run on a 2-core machine, Spark start-up included.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")


def main():
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        subprocess.run(
            [str(COOKIECUTTER), "--no-input", str(TEMPLATE), "--output-dir", str(work)],
            check=True,
            capture_output=True,
        )
        (project,) = [path for path in work.iterdir() if path.is_dir()]
        python = work / "venv" / "bin" / "python"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-e", f"{project}[dev]"], check=True
        )
        print(f"install        {time.perf_counter() - started:6.1f} s")
        package = project.name.replace("-", "_")
        for run in ("first", "second"):
            started = time.perf_counter()
            result = subprocess.run(
                [str(python), "-m", package, "local-run", "--json"],
                cwd=project,
                check=True,
                capture_output=True,
                text=True,
            )
            summary = json.loads(result.stdout)
            print(
                f"local-run {run:6s} {time.perf_counter() - started:6.1f} s  "
                f"version {summary['version']}, promoted {summary['promoted']}, "
                f"champion {summary['champion_version']}"
            )
            smoke = (summary.get("serving") or {}).get("smoke_check")
            if smoke:
                print(
                    f"  local endpoint: {smoke['requests']} requests of {smoke['rows_per_request']} "
                    f"rows, p50 {smoke['p50_ms']:.0f} ms, p99 {smoke['p99_ms']:.0f} ms "
                    f"(budget {smoke['max_p99_ms']:g} ms)"
                )


if __name__ == "__main__":
    main()
