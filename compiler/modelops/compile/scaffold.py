"""`modelops init`: the files of a working starting point, which validate and compile as written.

`plan` decides every file (text and whether it is new or merged); `write` writes them. Nothing is
written when a file would be overwritten without `force` (MO050) or an environment name is unusable
(MO051). The example model is the README's tour model; the config is the one it fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from modelops.compile.schema import schema_texts
from modelops.diagnostics import Diagnostic, UserError

# The release the generated workflow and pre-commit config pin (tests: the newest in CHANGELOG.md).
RELEASE_TAG = "v0.4.0"
REPOSITORY = "modelops-gitops/modelops"
GITIGNORE = (".modelops-cache/", "/generated.tmp-*", "/generated.old-*")
_ENV_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
MODEL_PATH = "models/eta-courier.yaml"


@dataclass(frozen=True)
class Scaffold:
    """One file `init` writes: its repository path, its text, and whether it replaces a file."""

    path: str
    text: str
    replaces: bool


def plan(root: Path, environments: list[str], target: str = "seldon-v1", *,
         force: bool = False) -> list[Scaffold]:
    """Every file of the starting point, in the order written; raises UserError (and writes
    nothing) for a file that exists without `force`, or a bad environment name."""
    _check_names(environments)
    files = {
        "modelops.yaml": config_text(environments, target),
        MODEL_PATH: model_text(environments),
        **{f"schemas/{name}": text for name, text in schema_texts().items()},
        ".github/workflows/modelops.yml": WORKFLOW.format(repository=REPOSITORY, tag=RELEASE_TAG),
        ".pre-commit-config.yaml": PRE_COMMIT.format(repository=REPOSITORY, tag=RELEASE_TAG),
    }
    existing = [path for path in files if (root / path).exists()]
    if existing and not force:
        raise UserError([Diagnostic(path, 1, 1, "MO050", f"{path} exists: `modelops init` overwrites "
                                    "nothing; move it away or pass --force") for path in existing])
    scaffolds = [Scaffold(path, text, path in existing) for path, text in files.items()]
    ignore = _gitignore(root / ".gitignore")
    if ignore is not None:
        scaffolds.append(Scaffold(".gitignore", ignore, False))
    return scaffolds


def write(root: Path, scaffolds: list[Scaffold]) -> None:
    for scaffold in scaffolds:
        path = root / scaffold.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(scaffold.text, encoding="utf-8")


def _check_names(environments: list[str]) -> None:
    bad = [env for env in environments if not _ENV_NAME.fullmatch(env)]
    if not environments or bad or len(set(environments)) != len(environments):
        shown = ", ".join(repr(env) for env in bad) or "none or repeated"
        raise UserError([Diagnostic("modelops.yaml", 1, 1, "MO051", f"environment names {shown}: give "
                                    "each once, lower case letters, digits and '-' (--env staging)")])


def _gitignore(path: Path) -> str | None:
    """.gitignore with modelops' entries added (None when it has them all); other lines kept."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [entry for entry in GITIGNORE if entry not in present]
    if not missing:
        return None
    prefix = text if not text or text.endswith("\n") else text + "\n"
    return prefix + "# modelops: the render cache and compile's staging folders\n" + "\n".join(missing) + "\n"


def config_text(environments: list[str], target: str) -> str:
    lines = [
        "# yaml-language-server: $schema=schemas/modelops.schema.json",
        "# Repository config: environments, defaults for every model, teams and policy.",
        "environments:",
    ]
    for env in environments:
        namespace = "models" if env == "production" else f"models-{env}"
        lines += [f"  {env}:", f"    namespace: {namespace}", f"    target: {target}"]
    lines += [
        "defaults:",
        "  resources:",
        "    requests: {cpu: 100m, memory: 256Mi}",
        "    limits: {memory: 1Gi}",
        "teams:",
        "  logistics:                         # the `team:` of a model file",
        '    reviewers: ["@acme/logistics-ds"] # who owns its files (.github/CODEOWNERS)',
        "policy:",
        "  allowed_schemes: [s3, gs]",
        '  allowed_buckets: ["s3://acme-models/"]',
    ]
    return "\n".join(lines) + "\n"


def model_text(environments: list[str]) -> str:
    """The README's tour model, deployed to each environment; a 90/10 canary in production."""
    lines = [MODEL_HEAD.rstrip("\n"), "environments:"]
    for env in environments:
        lines.append(f"  {env}:" + ("" if env == "production" else " {}"))
        if env == "production":
            lines.append(CANARY.rstrip("\n"))
    return "\n".join(lines) + "\n"


MODEL_HEAD = """\
# yaml-language-server: $schema=../schemas/model.schema.json
name: eta-courier
team: logistics                      # a team from modelops.yaml
framework: xgboost                   # sklearn xgboost lightgbm mlflow tensorflow triton huggingface custom
artifact:
  uri: s3://acme-models/eta-courier/11   # the folder the model server downloads
  secret: s3-models-readonly             # a Kubernetes Secret's *name*; never a credential
  mlflow: {model: eta-courier, version: 11}
resources:
  requests: {cpu: 500m, memory: 1Gi}
autoscaling: {min: 2, max: 10, cpu: 70}
"""

CANARY = """\
    traffic:                         # 90/10 canary
      main: {weight: 90}
      canary:
        weight: 10
        artifact:
          uri: s3://acme-models/eta-courier/12
          mlflow: {model: eta-courier, version: 12}
"""

WORKFLOW = """\
# modelops on every pull request: validate, compile --check, schema --check, and the review as a
# comment. Make this check required in the branch protection of your default branch.
name: modelops
on:
  pull_request:
permissions: {{}}
jobs:
  check:
    name: modelops check
    runs-on: ubuntu-latest
    timeout-minutes: 15
    permissions:
      contents: read
      pull-requests: write  # the review comment
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1
        with:
          fetch-depth: 0   # the rollout gate and the review read git history
          persist-credentials: false
      - uses: {repository}@{tag}
"""

PRE_COMMIT = """\
# pre-commit install: modelops checks every commit that touches models/, modelops.yaml or schemas/.
repos:
  - repo: https://github.com/{repository}
    rev: {tag}
    hooks:
      - id: modelops-validate
      - id: modelops-compile
      - id: modelops-schema-check
"""
