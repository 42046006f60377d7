"""An unchanged repository is confirmed from stat data (.modelops-cache/unchanged.marshal), and any
change a user can make to an input or an output still gets the whole run's answer."""

from __future__ import annotations

import json
import marshal
import os
import shutil
from pathlib import Path

import pytest
from modelops.compile.unchanged import FILE, unchanged
from support import fixtures

MODELS = {f"{name}.yaml": f"name: {name}\nteam: risk\nframework: sklearn\n"
          f"artifact: {{uri: s3://acme-models/{name}/1}}\n" for name in ("churn", "fraud", "iris")}
RECORD = Path(".modelops-cache") / FILE


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = fixtures.make_repo(tmp_path / "repo", MODELS)
    (repo / ".github").mkdir()
    (repo / ".github" / "CODEOWNERS").write_text("/infra/ @acme/sre\n")
    done = fixtures.run(repo, "compile", crd_dir=None)
    assert done.returncode == 0, done.stderr
    assert (repo / RECORD).is_file()
    return repo


def check(root: Path, *args: str) -> tuple[int, str, str]:
    done = fixtures.run(root, "compile", "--check", *args, crd_dir=None)
    return done.returncode, done.stdout, done.stderr


def a_generated_file(root: Path) -> Path:
    return next(p for p in sorted((root / "generated").rglob("iris.yaml")))


def test_the_shortcut_answers_what_the_whole_run_answers(root: Path) -> None:
    assert unchanged(root, None) is not None
    fast = fixtures.run(root, "compile", "--check", "-o", "json", crd_dir=None)
    whole = fixtures.run(root, "compile", "--check", "-o", "json", crd_dir=None,
                         env={"MODELOPS_NO_CACHE": "1"})
    assert fast.returncode == whole.returncode == 0
    assert json.loads(fast.stdout) == json.loads(whole.stdout)
    assert fixtures.run(root, "compile", crd_dir=None).stdout == \
        fixtures.run(root, "compile", crd_dir=None, env={"MODELOPS_NO_CACHE": "1"}).stdout


def test_a_hand_edit_that_keeps_size_and_mtime_is_still_seen(root: Path) -> None:
    path = a_generated_file(root)
    before = path.stat()
    text = path.read_text()
    path.write_text(text.replace("replicas: 1", "replicas: 7", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # ctime cannot be turned back
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    code, stdout, stderr = check(root)
    assert code == 1 and "replicas: 7" in stdout and "stale or hand-edited" in stderr


@pytest.mark.parametrize("change", ["stray file", "deleted file", "codeowners", "model", "config",
                                    "new model", "removed model"])
def test_every_change_gets_the_whole_run(root: Path, change: str) -> None:
    if change == "stray file":
        (a_generated_file(root).parent / "extra.yaml").write_text("kind: ConfigMap\n")
    elif change == "deleted file":
        a_generated_file(root).unlink()
    elif change == "codeowners":
        fixtures.edit(root / ".github" / "CODEOWNERS", "/models/iris.yaml @acme/risk-ds",
                      "/models/iris.yaml @acme/evil")
    elif change == "model":
        fixtures.edit(root / "models" / "iris.yaml", "iris/1", "iris/2")
    elif change == "config":
        (root / "modelops.yaml").write_text((root / "modelops.yaml").read_text() + "\n# a comment\n")
    elif change == "new model":
        (root / "models" / "eta.yaml").write_text(MODELS["iris.yaml"].replace("iris", "eta"))
    else:
        (root / "models" / "iris.yaml").unlink()
    assert unchanged(root, None) is None
    code, _, _ = check(root)
    expected = 0 if change == "config" else 1  # a comment changes no output
    assert code == expected


def test_a_forged_record_is_ignored(root: Path) -> None:
    record = root / RECORD
    mac, _, body = record.read_bytes().partition(b"\n")
    data = marshal.loads(body)
    data["models"] = ["forged"]
    record.write_bytes(mac + b"\n" + marshal.dumps(data))
    assert unchanged(root, None) is None
    code, stdout, _ = check(root)
    assert code == 0 and "up to date" in stdout  # the whole run, which records afresh
    assert unchanged(root, None) is not None and unchanged(root, None).models == ["churn", "fraud", "iris"]


def test_other_schemas_are_another_run(root: Path, tmp_path: Path) -> None:
    schemas = tmp_path / "crds"
    shutil.copytree(fixtures.CRD_DIR, schemas)
    assert unchanged(root, schemas) is None
    assert unchanged(root, None) is not None


def test_a_symlink_in_generated_is_reported_by_the_whole_run(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("x: 1\n")
    (root / "generated" / "link.yaml").symlink_to(outside)
    assert unchanged(root, None) is None
    code, _, stderr = check(root)
    assert code == 1 and "MO008" in stderr


def test_no_cache_means_no_record(tmp_path: Path) -> None:
    repo = fixtures.make_repo(tmp_path / "repo", MODELS)
    done = fixtures.run(repo, "compile", crd_dir=None, env={"MODELOPS_NO_CACHE": "1"})
    assert done.returncode == 0, done.stderr
    assert not (repo / RECORD).exists()
