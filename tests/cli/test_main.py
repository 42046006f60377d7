"""The `modelops` command line, run as a real subprocess through the installed console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import fixtures

ROOT = Path(__file__).resolve().parents[2]
DIAGNOSTIC = re.compile(r"^[^:\s][^:]*:\d+:\d+: MO\d{3} \S.*$")
SUMMARY = re.compile(r"^Found \d+ errors?\.$")
BAD_MODEL = """\
name: Bad_Name
team: risk
framework: sklearn
artifact:
  uri: s3://acme-models/bad/1
replicass: 2
"""


def run(
    *args: str, cwd: Path, crd_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return fixtures.run(cwd, *args, crd_dir=crd_dir, env=env, unset=("MODELOPS_DEBUG",), timeout=120)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` as bytes, keyed by relative POSIX path."""
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr


def copy_repo(destination: Path) -> Path:
    """A copy of the repo inputs and committed outputs (modelops.yaml, models, generated)."""
    return fixtures.copy_example_repo(destination, commit=False, codeowners=True)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


# --- validate --------------------------------------------------------------------------------


def test_help_works(crd_dir: Path) -> None:
    result = run("--help", cwd=ROOT, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    for command in ("validate", "compile", "schema"):
        assert command in result.stdout
    assert_no_traceback(result)


def test_validate_repo_examples_exit_0(crd_dir: Path) -> None:
    result = run("validate", cwd=ROOT, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    assert "4 model(s) valid." in result.stdout
    assert_no_traceback(result)


def test_bad_model_reports_diagnostics_and_writes_nothing(work: Path, crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    before = snapshot(work / "generated")
    for command in ("validate", "compile"):
        result = run(command, cwd=work, crd_dir=crd_dir)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert_no_traceback(result)
        lines = result.stderr.splitlines()
        assert lines, command
        assert SUMMARY.match(lines[-1]), lines[-1]
        diagnostics = lines[:-1]
        assert diagnostics
        for line in diagnostics:
            assert DIAGNOSTIC.match(line), line
            assert line.startswith("models/bad.yaml:"), line
        codes = {line.split()[1] for line in diagnostics}
        assert {"MO100", "MO101"} <= codes
        assert any("replicass" in line and "'replicas'" in line for line in diagnostics)
        assert snapshot(work / "generated") == before
        assert not list(work.glob("generated.tmp-*"))  # the tree staged while compiling is gone


def test_validate_json_output(work: Path, crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    result = run("validate", "--output", "json", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["diagnostics"]
    for diagnostic in payload["diagnostics"]:
        assert set(diagnostic) == {"path", "line", "col", "code", "message"}
        assert diagnostic["path"] == "models/bad.yaml"
        assert isinstance(diagnostic["line"], int) and diagnostic["line"] >= 1
        assert isinstance(diagnostic["col"], int) and diagnostic["col"] >= 1
        assert re.fullmatch(r"MO\d{3}", diagnostic["code"])
    assert any(d["code"] == "MO101" and d["line"] == 6 for d in payload["diagnostics"])


def test_validate_json_output_clean(crd_dir: Path) -> None:
    result = run("validate", "-o", "json", cwd=ROOT, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert payload["diagnostics"] == []
    assert sorted(payload["models"]) == [
        "churn-score",
        "eta-courier",
        "iris-classifier",
        "search-ranker",
    ]


def test_validate_one_path_checks_only_that_file(work: Path, crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    good = run("validate", "models/iris-classifier.yaml", cwd=work, crd_dir=crd_dir)
    assert good.returncode == 0, good.stderr
    assert "1 model(s) valid." in good.stdout
    assert "bad.yaml" not in good.stdout + good.stderr
    bad = run("validate", "models/bad.yaml", cwd=work, crd_dir=crd_dir)
    assert bad.returncode == 1
    diagnostics = [line for line in bad.stderr.splitlines() if DIAGNOSTIC.match(line)]
    assert diagnostics
    assert all(line.startswith("models/bad.yaml:") for line in diagnostics)


def test_missing_config_is_one_line_error(tmp_path: Path, crd_dir: Path) -> None:
    (tmp_path / "models").mkdir()
    result = run("validate", cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    diagnostics = [line for line in result.stderr.splitlines() if DIAGNOSTIC.match(line)]
    assert len(diagnostics) == 1, result.stderr
    assert diagnostics[0].startswith("modelops.yaml:1:1: MO010 ")


def test_missing_config_in_empty_folder_is_one_line_error(tmp_path: Path, crd_dir: Path) -> None:
    result = run("validate", cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    diagnostics = [line for line in result.stderr.splitlines() if DIAGNOSTIC.match(line)]
    assert len(diagnostics) == 1, result.stderr
    assert diagnostics[0].startswith("modelops.yaml:1:1: MO010 ")


@pytest.mark.parametrize("command", ["validate", "compile"])
def test_missing_crd_dir_is_usage_error(
    command: str, work: Path, crd_dir: Path, tmp_path: Path
) -> None:
    before = snapshot(work / "generated")
    missing = tmp_path / "no-such-crds"
    result = run(command, "--crd-dir", str(missing), cwd=work, crd_dir=crd_dir)
    assert result.returncode == 2, result.stderr
    assert "--crd-dir" in result.stderr
    assert_no_traceback(result)
    assert snapshot(work / "generated") == before


# --- compile ---------------------------------------------------------------------------------


def test_compile_produces_files(tmp_path: Path, crd_dir: Path) -> None:
    work = copy_repo(tmp_path / "repo")
    shutil.rmtree(work / "generated")
    result = run("compile", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    files = snapshot(work / "generated")
    assert "production/kustomization.yaml" in files
    assert "staging/models-staging/iris-classifier.yaml" in files
    assert files == snapshot(ROOT / "generated")
    assert not list(tmp_path.glob("repo/generated.tmp-*"))


def test_compile_check_up_to_date(work: Path, crd_dir: Path) -> None:
    result = run("compile", "--check", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_compile_check_detects_hand_edit(work: Path, crd_dir: Path) -> None:
    target = work / "generated/production/models/eta-courier.yaml"
    target.write_text(target.read_text().replace("traffic: 90", "traffic: 80"))
    before = snapshot(work / "generated")
    result = run("compile", "--check", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    name = "generated/production/models/eta-courier.yaml"
    assert f"--- a/{name}" in result.stdout
    assert f"+++ b/{name}" in result.stdout
    assert "\n-    traffic: 80\n" in result.stdout
    assert "\n+    traffic: 90\n" in result.stdout
    assert "@@" in result.stdout
    assert "stale or hand-edited" in result.stderr
    assert snapshot(work / "generated") == before  # --check writes nothing
    fixed = run("compile", cwd=work, crd_dir=crd_dir)
    assert fixed.returncode == 0, fixed.stderr
    assert snapshot(work / "generated") == snapshot(ROOT / "generated")


def test_compile_check_json(work: Path, crd_dir: Path) -> None:
    target = work / "generated/staging/kustomization.yaml"
    target.write_text(target.read_text() + "# hand edit\n")
    result = run("compile", "--check", "-o", "json", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["command"] == "compile"
    assert payload["stale"] is True
    assert payload["changed"] == ["generated/staging/kustomization.yaml"]
    assert "-# hand edit" in payload["diff"]


def test_deleted_model_leaves_stale_files_until_compiled(work: Path, crd_dir: Path) -> None:
    (work / "models" / "iris-classifier.yaml").unlink()
    check = run("compile", "--check", cwd=work, crd_dir=crd_dir)
    assert check.returncode == 1
    assert_no_traceback(check)
    orphan = "generated/production/models/iris-classifier.yaml"
    assert f"--- a/{orphan}" in check.stdout
    assert "+++ /dev/null" in check.stdout
    assert (work / orphan).is_file()

    result = run("compile", cwd=work, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    assert not (work / "generated/production/models/iris-classifier.yaml").exists()
    assert not (work / "generated/staging/models-staging/iris-classifier.yaml").exists()
    assert "iris-classifier" not in (work / "generated/production/kustomization.yaml").read_text()
    again = run("compile", "--check", cwd=work, crd_dir=crd_dir)
    assert again.returncode == 0, again.stdout + again.stderr


def _stats(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_compile_twice_is_identical_and_does_not_rewrite(work: Path, crd_dir: Path) -> None:
    first = run("compile", cwd=work, crd_dir=crd_dir)
    assert first.returncode == 0, first.stderr
    files, stats = snapshot(work / "generated"), _stats(work)
    second = run("compile", cwd=work, crd_dir=crd_dir)
    assert second.returncode == 0, second.stderr
    assert "0 changed" in second.stdout
    assert snapshot(work / "generated") == files
    assert _stats(work) == stats
    assert not list(work.glob("generated.tmp-*"))


def test_compile_is_deterministic_across_hash_seeds(tmp_path: Path, crd_dir: Path) -> None:
    trees = []
    for seed in ("0", "1", "4242"):
        work = copy_repo(tmp_path / f"seed-{seed}")
        shutil.rmtree(work / "generated")
        (work / ".github" / "CODEOWNERS").unlink(missing_ok=True)
        result = run("compile", cwd=work, crd_dir=crd_dir, env={"PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        trees.append({**snapshot(work / "generated"), **snapshot(work / ".github")})
    assert trees[0]
    assert trees[0] == trees[1] == trees[2]


# --- schema ----------------------------------------------------------------------------------


def test_checked_in_schemas_are_current(crd_dir: Path) -> None:
    result = run("schema", "--check", cwd=ROOT, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr


def test_schema_check_detects_stale_and_missing(tmp_path: Path, crd_dir: Path) -> None:
    (tmp_path / "modelops.yaml").write_text((ROOT / "modelops.yaml").read_text())
    written = run("schema", cwd=tmp_path, crd_dir=crd_dir)
    assert written.returncode == 0, written.stderr
    assert run("schema", "--check", cwd=tmp_path, crd_dir=crd_dir).returncode == 0

    model_schema = tmp_path / "schemas" / "model.schema.json"
    model_schema.write_text(model_schema.read_text().replace('"type"', '"tipe"', 1))
    stale = run("schema", "--check", cwd=tmp_path, crd_dir=crd_dir)
    assert stale.returncode == 1
    assert "schemas/model.schema.json is stale" in stale.stderr
    assert "modelops.schema.json" not in stale.stderr

    (tmp_path / "schemas" / "modelops.schema.json").unlink()
    missing = run("schema", "--check", cwd=tmp_path, crd_dir=crd_dir)
    assert missing.returncode == 1
    assert "schemas/modelops.schema.json is stale" in missing.stderr
    assert_no_traceback(missing)


# --- -C before the command, the JSON envelope, missing extras ----------------------------------------


def test_global_repo_option_validates_a_broken_file_as_one_json_document(work: Path, tmp_path: Path,
                                                                          crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    result = run("-C", str(work), "validate", "-o", "json", cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    payload = json.loads(result.stdout)  # the whole of stdout is one document
    assert payload["ok"] is False and payload["command"] == "validate"
    assert {d["path"] for d in payload["diagnostics"]} == {"models/bad.yaml"}
    assert any(d["code"] == "MO101" and d["line"] == 6 for d in payload["diagnostics"])


def test_repo_option_after_the_command_wins_over_the_global_one(work: Path, tmp_path: Path,
                                                               crd_dir: Path) -> None:
    (work / "models" / "bad.yaml").write_text(BAD_MODEL, encoding="utf-8")
    result = run("-C", str(work), "validate", "-C", str(ROOT), cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4 model(s) valid.\n"
    check = run("-C", str(ROOT), "compile", "--check", cwd=tmp_path, crd_dir=crd_dir)
    assert check.returncode == 0, check.stderr


def test_user_error_under_json_output_is_the_envelope(tmp_path: Path, crd_dir: Path) -> None:
    result = run("-C", str(ROOT), "diff", "no-such-ref", "--format", "json", cwd=tmp_path, crd_dir=crd_dir)
    assert result.returncode == 1
    assert_no_traceback(result)
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["command"] == "diff"
    assert [d["code"] for d in payload["diagnostics"]] == ["MO020"]
    text = run("-C", str(ROOT), "diff", "no-such-ref", cwd=tmp_path, crd_dir=crd_dir)
    assert text.returncode == 1 and text.stdout == ""
    assert [DIAGNOSTIC.match(line) is not None for line in text.stderr.splitlines()] == [True]


@pytest.mark.parametrize(("blocked", "args", "extra"), [
    ("kubernetes", ["sync", "--env", "staging", "--plan-only"], "sync"),
    ("rich", ["diff", "HEAD"], "review"),
])
def test_a_missing_extra_is_named_in_one_line(blocked: str, args: list[str], extra: str, tmp_path: Path,
                                              crd_dir: Path) -> None:
    code = (f"import sys\nsys.modules[{blocked!r}] = None\nfrom modelops.cli.main import main\n"
            "sys.argv = ['modelops', *sys.argv[1:]]\nmain()")
    environment = {**os.environ, "MODELOPS_CRD_DIR": str(crd_dir),
                   "KUBECONFIG": str(tmp_path / "kubeconfig")}
    environment.pop("MODELOPS_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", code, "-C", str(ROOT), *args], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"modelops {args[0]}: needs the {extra} extra: pip install 'modelops-gitops[{extra}]'"]
