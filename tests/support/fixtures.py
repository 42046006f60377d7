"""The shared test helpers: the standard modelops.yaml, one repository factory, one `run()`.

- `make_repo`: a throwaway modelops repo (modelops.yaml + models/), optionally committed in git
  and pushed to a bare `origin`.
- `copy_example_repo`: this repository's own modelops.yaml, models/ and generated/.
- `run`: the installed `modelops` command as a subprocess (exit code, stdout, stderr).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from modelops.compile.emit.schemas import BUNDLED

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = BUNDLED / "crds"  # the CRD schemas modelops ships
MODELOPS = str(Path(sys.executable).parent / "modelops")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
}

# The smallest valid model file under the standard config (the rule tests build on it).
IRIS = """\
name: iris
team: risk
framework: sklearn
artifact:
  uri: s3://acme-models/iris/1
"""

# The standard modelops.yaml: staging + production on Seldon Core v1, teams risk and search,
# artifacts only from the acme-models buckets on s3 and gs.
CONFIG = """\
environments:
  staging:
    namespace: models-staging
    target: seldon-v1
  production:
    namespace: models
    target: seldon-v1
defaults:
  resources:
    requests: {cpu: 100m, memory: 256Mi}
    limits: {memory: 1Gi}
teams:
  risk:
    reviewers: ["@acme/risk-ds"]
  search:
    reviewers: ["@acme/search-ml"]
policy:
  allowed_schemes: [s3, gs]
  allowed_buckets: ["s3://acme-models/", "gs://acme-models/"]
  max_replicas: 20
"""


def modelops_path() -> str:
    """The `modelops` script of the venv running the tests."""
    local = Path(MODELOPS)
    return str(local) if local.exists() else shutil.which("modelops") or "modelops"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return done.stdout


def make_repo(
    root: Path,
    models: Mapping[str, str] | None = None,
    config: str = CONFIG,
    *,
    origin: Path | None = None,
    before_commit: Callable[[Path], None] | None = None,
    message: str = "initial",
) -> Path:
    """Write `config` as modelops.yaml and `models` (file name -> text, as given) into models/.

    With `origin`, `before_commit(root)` runs, the repo is committed on `main` and pushed to a new
    bare repository at `origin`.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "modelops.yaml").write_text(config, encoding="utf-8")
    (root / "models").mkdir(exist_ok=True)
    for name, text in (models or {}).items():
        (root / "models" / name).write_text(text, encoding="utf-8")
    if origin is not None:
        git(origin.parent, "init", "--quiet", "--bare", "-b", "main", str(origin))
        if before_commit is not None:
            before_commit(root)
        git(root, "init", "--quiet", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "--quiet", "-m", message)
        git(root, "remote", "add", "origin", str(origin))
        git(root, "push", "--quiet", "origin", "main")
    return root


def copy_example_repo(target: Path, *, commit: bool = True, codeowners: bool = False) -> Path:
    """modelops.yaml, models/ and generated/ of this repository (and .github/CODEOWNERS if asked),
    committed in a new git repo unless `commit` is false."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "modelops.yaml", target / "modelops.yaml")
    shutil.copytree(ROOT / "models", target / "models")
    shutil.copytree(ROOT / "generated", target / "generated")
    owners = ROOT / ".github" / "CODEOWNERS"
    if codeowners and owners.is_file():
        (target / ".github").mkdir()
        shutil.copy2(owners, target / ".github" / "CODEOWNERS")
    if commit:
        git(target, "init", "-q", "-b", "main")
        git(target, "add", "-A")
        git(target, "commit", "-qm", "examples")
    return target


def run(
    root: Path,
    *args: str,
    crd_dir: Path | None = CRD_DIR,
    env: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """`modelops *args` in `root`: this process's environment without `unset`, $MODELOPS_CRD_DIR
    set to `crd_dir` unless it is None, then `env`."""
    dropped = set(unset)
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    if crd_dir is not None:
        environment["MODELOPS_CRD_DIR"] = str(crd_dir)
    environment.update(env or {})
    return subprocess.run([modelops_path(), *args], cwd=root, env=environment, capture_output=True,
                          text=True, timeout=timeout)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
