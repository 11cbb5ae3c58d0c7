"""Local lifecycle benchmark: prints figures, asserts nothing.

Renders the default variant (feature store, serving and monitoring all on, the fullest local run),
installs it into a virtual environment under ``build/bench-venvs/`` (one per set of pins, reused
while the pins do not change: the first install downloads pyspark, mlflow and scikit-learn), then
runs ``python -m <package> local-run --json`` twice in a fresh directory (the second run validates
a new version against the first champion) and prints, per run:

- the wall time, and the CPU seconds (user + system) of the whole process tree, sampled from
  ``/proc`` with the memory (a process's last 0.1 s may be missed): on a shared machine the CPU
  time moves much less with the load than the wall time does;
- peak RSS of the largest single process, sampled from ``/proc`` every 0.1 s (in practice the
  JVM), and, as "reaped", ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a wrapper process that runs
  only that local-run: it covers only the processes that were waited for, and PySpark leaves its
  JVM to exit unreaped, so it misses the JVM;
- peak RSS of the whole process tree, sampled from ``/proc`` every 0.1 s (the sum of the resident
  sets of every descendant; pages shared between processes count once per process, so it is an
  upper bound);
- the local run's own per-stage table (``timings`` of its JSON).

``--baseline <commit>`` renders that commit of the template too (``git archive``) and measures the
two back to back, alternating (baseline first run, working tree first run, baseline second run,
working tree second run, per round), then prints each figure of the working tree as a ratio to the
baseline: machine speed varies from day to day, ratios measured in one sitting do not.

    .venv/bin/python bench/local_run.py --baseline 60e8fb0 [--also <commit>] [--rounds 2]

``--also <commit>`` adds another commit to the same rounds (the code before a change, say), each
printed as a ratio to the baseline as well.

Targets (issue 12): with every option on, wall time at most 0.65x of 60e8fb0's and peak tree RSS
at most 1 GB, on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")
VENVS = TEMPLATE / "build" / "bench-venvs"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")

# Run by the wrapper interpreter: the local run as its only child, then that child's peak RSS.
WRAPPER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def template_at(commit: str, into: Path) -> Path:
    """The template as of ``commit``, unpacked from ``git archive``."""
    archive = subprocess.run(
        ["git", "-C", str(TEMPLATE), "archive", "--format=tar", commit],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def render(template: Path, output: Path) -> Path:
    output.mkdir(parents=True)
    subprocess.run(
        [str(COOKIECUTTER), "--no-input", str(template), "--output-dir", str(output)],
        check=True,
        capture_output=True,
    )
    (project,) = [path for path in output.iterdir() if path.is_dir()]
    return project


def pins(project: Path) -> str:
    """A digest of what the venv installs: the dependencies and the dev extra."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    wanted = {"dependencies": meta["dependencies"], "dev": meta["optional-dependencies"]["dev"]}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:12]


def venv_for(project: Path) -> Path:
    """A venv with the project's pins, reused while they do not change. The package itself is
    run from the render through PYTHONPATH, so a reused venv runs the code just rendered."""
    venv = VENVS / pins(project)
    python = venv / "bin" / "python"
    if (venv / "installed").exists():
        print(f"venv {venv.name} reused (same pins)")
        return python
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-e", f"{project}[dev]"],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        sys.exit(f"pip install failed:\n{install.stderr[-3000:]}")
    (venv / "installed").touch()
    print(f"venv {venv.name} installed in {time.perf_counter() - started:.1f} s")
    return python


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                # The command name may hold spaces and parentheses: ppid follows the last ")".
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def tree_sample(root: int, cpu: dict[int, float]) -> tuple[int, int]:
    """The summed RSS of ``root`` and its descendants and the largest single RSS among them; the
    CPU seconds (user + system) each has used so far go into ``cpu``."""
    sizes = []
    for pid in descendants(root):
        try:
            with open(f"/proc/{pid}/statm") as handle:
                sizes.append(int(handle.read().split()[1]) * PAGE)
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            continue
    return sum(sizes), max(sizes, default=0)


def measure(python: Path, project: Path, cwd: Path) -> dict:
    """One local-run: wall seconds, peak RSS (largest process, tree), its summary."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    package = project.name.replace("-", "_")
    command = [str(python), "-c", WRAPPER, str(python), "-m", package, "local-run", "--json"]
    peak = largest = 0
    cpu: dict[int, float] = {}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, largest
        while not done.is_set():
            total, single = tree_sample(process.pid, cpu)
            peak, largest = max(peak, total), max(largest, single)
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"local-run failed in {project}:\n{stderr[-3000:]}")
    reaped_kb = int(stderr.strip().splitlines()[-1])
    return {
        "wall": wall,
        "cpu": sum(cpu.values()),
        "reaped_mb": reaped_kb / 1024,
        "largest_mb": largest / 2**20,
        "tree_mb": peak / 2**20,
        "summary": json.loads(stdout),
    }


def show(label: str, run: str, figures: dict) -> None:
    summary = figures["summary"]
    print(
        f"{label:9.9s} {run:6s} wall {figures['wall']:6.1f} s, CPU {figures['cpu']:6.1f} s  "
        f"peak RSS: largest process "
        f"{figures['largest_mb']:5.0f} MB (reaped {figures['reaped_mb']:4.0f} MB), "
        f"tree {figures['tree_mb']:5.0f} MB  "
        f"(version {summary['version']}, promoted {summary['promoted']}, "
        f"champion {summary['champion_version']})"
    )
    timings = summary.get("timings")
    if timings:
        total = sum(timings.values()) or 1.0
        print("    " + ", ".join(f"{k} {v:.1f} s ({v / total:.0%})" for k, v in timings.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="also measure this commit of the template")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="COMMIT",
        help="measure this commit too, in the same rounds (repeatable; e.g. the code before a change)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="first+second runs per variant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        variants = {}
        for label, commit in [("baseline", args.baseline), *((c, c) for c in args.also)]:
            if commit:
                source = template_at(commit, work / f"{label}-template")
                variants[label] = render(source, work / label)
        variants["working"] = render(TEMPLATE, work / "working")
        pythons = {label: venv_for(project) for label, project in variants.items()}
        results: dict[tuple[str, str], list[dict]] = {}
        for round_ in range(args.rounds):
            cwds = {label: work / f"run-{label}-{round_}" for label in variants}
            for cwd in cwds.values():
                cwd.mkdir()
            for run in ("first", "second"):
                for label, project in variants.items():  # alternate: baseline, working, ...
                    figures = measure(pythons[label], project, cwds[label])
                    show(label, run, figures)
                    results.setdefault((label, run), []).append(figures)
        if args.baseline:
            for label in variants:
                if label == "baseline":
                    continue
                print(f"\n{label} / {args.baseline} (medians over {args.rounds} round(s)):")
                for run in ("first", "second"):
                    ratios = []
                    for key in ("wall", "cpu", "largest_mb", "reaped_mb", "tree_mb"):
                        new = statistics.median(f[key] for f in results[(label, run)])
                        old = statistics.median(f[key] for f in results[("baseline", run)])
                        ratios.append(f"{key} {new / old:.2f}x")
                    print(f"  {run:6s} " + ", ".join(ratios))


if __name__ == "__main__":
    main()
