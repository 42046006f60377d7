"""Time modelops against Kapitan and the floor on N synthetic models (run with `make bench`).

Every measurement is a whole process (start-up included), the commands alternate within each
round, and the table shows the median of `--repeat` rounds plus each tool's peak memory (max RSS of
the process and the children it waited for, from os.wait4). The floor is plain Python writing the
same documents (floor.py) and, for `validate` of one file, a minimal click + PyYAML + pydantic
command (floor_validate.py).

Each size runs on two corpora (corpus.py): `equal`, the observability pack off so Kapitan and the
floor write the same objects, and `defaults`, what users get (the pack on, a mix of Seldon Core v1,
Core 2 and KServe; modelops alone). Next to times and memory the table gives the bytes the fresh
compile wrote into generated/, per model and per model and environment.

    .venv/bin/python bench/run.py [--n 100 1000] [--repeat 5] [--corpus equal defaults] [--ten-thousand]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import corpus

HERE = Path(__file__).resolve().parent
MAIN = HERE.parent
MODELOPS = Path(sys.executable).with_name("modelops")
KAPITAN = HERE / ".venv-kapitan" / "bin" / "kapitan"
CACHE = ".modelops-cache"


class Timer:
    """Runs whole processes; keeps every wall time and the peak RSS per (tool, step)."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.peak: dict[str, int] = defaultdict(int)
        self.peak_step: dict[str, str] = {}  # the step whose process took the most memory
        self.generated = 0  # bytes under generated/ after the fresh compile

    def run(self, tool: str, step: str, argv: list[str], cwd: Path, *, memory: bool = True) -> None:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = process.stdout.read() if process.stdout else b""
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"{' '.join(map(str, argv))} failed ({process.returncode}):\n{output.decode()[-3000:]}")
        self.times[(tool, step)].append(elapsed)
        if memory and usage.ru_maxrss > self.peak[tool]:
            self.peak[tool], self.peak_step[tool] = usage.ru_maxrss, step  # KiB on Linux

    def median(self, tool: str, step: str) -> float | None:
        values = self.times.get((tool, step))
        return statistics.median(values) if values else None


STEPS = [
    ("compile", "compile (fresh, no cache)"),
    ("check", "compile --check, unchanged tree"),
    ("ci", "compile --check in a fresh clone (CI: no cache)"),
    ("change", "compile after changing one model"),
    ("again", "... and after changing another (Kapitan: its change time)"),
    ("add", "compile after adding a model (shared files change)"),
    ("one", "validate one file (cold)"),
    ("help", "--help (cold start)"),
]


def tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def bench(n: int, repeat: int, kapitan: bool, workdir: Path, kind: str = "equal") -> Timer:
    repo, project = workdir / "repo", workdir / "kapitan"
    models = corpus.generate(repo, n, corpus=kind)
    kapitan = kapitan and kind == "equal"  # Kapitan's component renders the pack-off objects only
    floor_on = kind == "equal"
    if kapitan:
        corpus.kapitan_project(project, repo / "models")
    changed = repo / models[len(models) // 2]
    one = models[len(models) // 3]
    timer = Timer()
    modelops, floor = [str(MODELOPS)], [sys.executable, str(HERE / "floor.py"), str(repo)]
    for round_ in range(repeat):
        # 1. a fresh compile: no generated/, no cache
        shutil.rmtree(repo / "generated", ignore_errors=True)
        shutil.rmtree(repo / CACHE, ignore_errors=True)
        timer.run("modelops", "compile", [*modelops, "compile"], repo)
        timer.generated = tree_bytes(repo / "generated")
        if kapitan:
            shutil.rmtree(project / "compiled", ignore_errors=True)
            timer.run("kapitan", "compile", [str(KAPITAN), "compile"], project)
        if floor_on:
            shutil.rmtree(repo / "generated-floor", ignore_errors=True)
            timer.run("floor", "compile", floor, repo)
        # 2. nothing changed: is generated/ current?
        timer.run("modelops", "check", [*modelops, "compile", "--check"], repo)
        # 2b. CI: a fresh clone holds generated/ but no cache, so the check compiles every model
        for name in ("render.json", "unchanged.marshal"):  # the spare tree stays, as after step 1
            (repo / CACHE / name).unlink(missing_ok=True)
        timer.run("modelops", "ci", [*modelops, "compile", "--check"], repo)
        # 3. one model changes (a promotion), everything compiles again
        corpus.change_model(changed, round_)
        timer.run("modelops", "change", [*modelops, "compile"], repo)
        if kapitan:
            corpus.kapitan_target(project, changed)
            timer.run("kapitan", "change", [str(KAPITAN), "compile"], project)
        if floor_on:
            shutil.rmtree(repo / "generated-floor", ignore_errors=True)
            timer.run("floor", "change", floor, repo)
        # 3b. the editing loop: the previous compile left a spare tree to patch
        corpus.change_model(repo / models[len(models) // 4], round_)
        timer.run("modelops", "again", [*modelops, "compile"], repo)
        # 3c. a new model: the shared files change, so the whole run answers (with its render cache)
        added = corpus.add_model(repo, n + round_, kind)
        timer.run("modelops", "add", [*modelops, "compile"], repo)
        added.unlink()
        # 4. the editor / pre-commit case: one file, cold
        timer.run("modelops", "one", [*modelops, "validate", one], repo)
        if floor_on:
            timer.run("floor", "one", [sys.executable, str(HERE / "floor_validate.py"), one], repo,
                      memory=False)  # the floor's peak memory is that of writing the documents
        if kapitan:
            target = Path(one).stem
            timer.run("kapitan", "one", [str(KAPITAN), "compile", "-t", target], project)
        timer.run("modelops", "help", [*modelops, "--help"], repo)
        if kapitan:
            timer.run("kapitan", "help", [str(KAPITAN), "--help"], project)
    return timer


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "-"
    return f"{a / b:.2f}" + (f" ({b / a:.0f}x faster)" if a < b else "")


def report(n: int, repeat: int, timer: Timer, kind: str = "equal") -> None:
    what = {"equal": f"= {n * 6} objects, the observability pack off (the Kapitan-equal corpus)",
            "defaults": "with the defaults on (observability pack; Seldon Core v1, Core 2, KServe)"}[kind]
    print(f"\n{n} models x 2 environments {what}; median of {repeat}; "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    columns = ("", "modelops", "Kapitan", "floor", "modelops/Kapitan", "modelops/floor")
    rows = [columns]
    for step, label in STEPS:
        ours, theirs, floor = (timer.median(tool, step) for tool in ("modelops", "kapitan", "floor"))
        if step in ("again", "add"):  # Kapitan recompiles the same way every time; so does the floor
            theirs, floor = timer.median("kapitan", "change"), timer.median("floor", "change")
        if step == "ci":  # what CI runs with Kapitan: a compile from scratch
            theirs, floor = timer.median("kapitan", "compile"), timer.median("floor", "compile")
        rows.append((label, _seconds(ours), _seconds(theirs), _seconds(floor), _ratio(ours, theirs),
                     _ratio(ours, floor)))
    rows.append((f"peak memory (max RSS; modelops: {timer.peak_step.get('modelops', '-')})",
                 *(f"{timer.peak[t] / 1024:.0f} MiB" if t in timer.peak else "-"
                   for t in ("modelops", "kapitan", "floor")), "", ""))
    rows.append(("generated/ (fresh compile)", f"{timer.generated / 2**20:.1f} MiB", "", "", "", ""))
    per_model = timer.generated / n / 1024
    rows.append(("  per model (per model and environment)", f"{per_model:.1f} KiB ({per_model / 2:.1f})",
                 "", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        cells = [cell.ljust(w) if i == 0 else cell.rjust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000],
                        help="model counts (default 100 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per measurement (default 5)")
    parser.add_argument("--no-kapitan", action="store_true", help="skip Kapitan")
    parser.add_argument("--corpus", nargs="+", choices=corpus.CORPORA, default=list(corpus.CORPORA),
                        help="which corpora (default both: equal, then defaults)")
    parser.add_argument("--ten-thousand", action="store_true", help="also run 10,000 models")
    args = parser.parse_args()
    if os.environ.get("MODELOPS_CRD_DIR"):  # the commands run elsewhere: make it absolute
        os.environ["MODELOPS_CRD_DIR"] = str(Path(os.environ["MODELOPS_CRD_DIR"]).resolve())
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        print("PYTHONDONTWRITEBYTECODE unset for the timed commands: Python caches bytecode by default")
    kapitan = not args.no_kapitan and KAPITAN.is_file()
    if not args.no_kapitan and not kapitan:
        print(f"Kapitan is not installed at {KAPITAN} (`make bench` installs it): "
              "timing modelops and the floor only")
    where = os.environ.get("MODELOPS_CRD_DIR") or "the bundled set"
    print(f"output validated against CRD schemas in {where}")
    sizes = [*args.n, *([10_000] if args.ten_thousand and 10_000 not in args.n else [])]
    for n in sizes:
        for kind in args.corpus:
            # beside the repo, not in /tmp: what a checkout's disk does is what users feel
            with tempfile.TemporaryDirectory(prefix=f".work-{n}-", dir=HERE) as workdir:
                report(n, args.repeat, bench(n, args.repeat, kapitan, Path(workdir), kind), kind)


if __name__ == "__main__":
    main()
