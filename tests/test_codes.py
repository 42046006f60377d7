"""The rule registry: every code emitted is defined and tested, `modelops rule`, docs/rules.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from modelops.codes import BY_CODE, RULES, with_table

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "compiler" / "modelops"
CODE = re.compile(r"MO\d{3}")
LITERAL = re.compile(r"""["'](MO\d{3})["']""")
MODELOPS = str(Path(sys.executable).parent / "modelops")


def _sources() -> dict[str, str]:
    """Every module of the package but the registry itself (compile/targets/ included)."""
    return {p.relative_to(ROOT).as_posix(): p.read_text()
            for p in sorted(PACKAGE.rglob("*.py")) if p.name != "codes.py" or p.parent != PACKAGE}


def _emitted() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path, text in _sources().items():
        for code in LITERAL.findall(text):
            found.setdefault(code, set()).add(path)
    return found


def _tested() -> set[str]:
    """Codes written in a test file's strings (this file aside: it only checks the registry)."""
    return {code for p in ROOT.joinpath("tests").rglob("test_*.py") if p.name != Path(__file__).name
            for code in CODE.findall(p.read_text())}


def rule(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MODELOPS, "rule", *args], capture_output=True, text=True, timeout=60)


def test_each_code_is_defined_once_in_order() -> None:
    codes = [r.code for r in RULES]
    assert codes == sorted(set(codes))
    assert all(CODE.fullmatch(code) for code in codes)
    assert all(r.title and r.explanation and "\n" not in r.title for r in RULES)


def test_every_code_in_the_package_is_defined() -> None:
    mentioned = {code: path for path, text in _sources().items() for code in CODE.findall(text)}
    assert {code: path for code, path in mentioned.items() if code not in BY_CODE} == {}


def test_every_defined_code_is_emitted() -> None:
    assert sorted(set(BY_CODE) - set(_emitted())) == []


def test_every_defined_code_has_a_test() -> None:
    assert sorted(set(BY_CODE) - _tested()) == []


def test_rule_explains_one_code() -> None:
    done = rule("MO224")
    assert done.returncode == 0
    assert done.stdout.startswith("MO224 (traffic): serving weights that do not sum to 100\n\n")
    assert "canary: {weight: 10}" in done.stdout


def test_rule_explains_the_rollout_gate() -> None:
    done = rule("mo405")
    assert done.returncode == 0
    assert "rules.require_rollout" in done.stdout and "canary or shadow" in done.stdout
    assert "git history" in done.stdout and "fetch-depth: 0" in done.stdout


def test_rule_lists_every_code() -> None:
    done = rule()
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) == len(RULES)
    assert re.fullmatch(r"MO224  traffic\s+serving weights that do not sum to 100",
                        next(line for line in lines if line.startswith("MO224")))


def test_unknown_rule_is_one_line_and_exit_1() -> None:
    done = rule("MO999")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "modelops: unknown rule 'MO999': `modelops rule` lists them all\n"


def test_readme_table_is_generated_from_the_registry() -> None:
    rules = (ROOT / "docs" / "rules.md").read_text()
    assert rules == with_table(rules), "docs/rules.md's table of checks is stale: run `make docs-pages`"
    assert rule("--markdown").stdout in rules


def test_diagnostics_do_not_load_the_registry() -> None:
    code = "import sys, modelops.compile.pipeline; print('modelops.codes' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
