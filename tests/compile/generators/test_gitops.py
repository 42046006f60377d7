"""Argo CD and Flux handoff: emitted by compile, valid against the upstream CRDs, health check works."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from lupa import lua51
from modelops.cli.main import cli
from modelops.compile.emit.schemas import SchemaSet
from modelops.compile.emit.validate import ManifestValidator
from modelops.compile.generators import gitops
from modelops.compile.pipeline import build
from support.fixtures import IRIS
from support.generated_files import documents

MODEL = IRIS
CONFIG = """\
environments:
  staging:
    namespace: models-staging
  production:
    namespace: models
    sync: argocd
    gitops:
      repo_url: https://git.example.com/acme/models.git
      argocd: {project: ml, namespace: gitops}
  edge:
    namespace: models-edge
    sync: flux
    gitops:
      repo_url: https://git.example.com/acme/models.git
      revision: release
      flux: {interval: 2m}
  lab:
    namespace: models-lab
    sync: flux
    gitops:
      flux: {source: platform-repo}
teams:
  risk: {reviewers: ["@acme/risk-ds"]}
"""


def compiled(repo, crd_dir, config=CONFIG):
    result = build(repo({"iris.yaml": MODEL}, config), crd_dir=crd_dir)
    assert result.diagnostics == []
    return result.files


def load(files, name):
    return yaml.safe_load(files[name])


def test_gitops_files_are_emitted_outside_the_environment_folders(repo, crd_dir):
    files = compiled(repo, crd_dir)
    gitops = sorted(name for name in files if name.startswith("_gitops/"))
    assert gitops == [
        "_gitops/edge/gitrepository.yaml",
        "_gitops/edge/kustomization-flux.yaml",
        "_gitops/lab/kustomization-flux.yaml",
        "_gitops/production/application.yaml",
        "_gitops/production/argocd-cm-patch.yaml",
    ]
    for env in ("staging", "production", "edge", "lab"):
        resources = load(files, f"{env}/kustomization.yaml")["resources"]
        assert not any("_gitops" in r for r in resources)
    assert not any(n.startswith("_gitops/staging") for n in files)  # sync: ci emits nothing


def test_argocd_application(repo, crd_dir):
    app = load(compiled(repo, crd_dir), "_gitops/production/application.yaml")
    assert app["metadata"] == {"name": "modelops-production", "namespace": "gitops", "labels": {
        "app.kubernetes.io/managed-by": "modelops", "app.kubernetes.io/part-of": "modelops",
        "modelops.io/environment": "production"}}
    spec = app["spec"]
    assert spec["project"] == "ml"
    assert spec["source"] == {"repoURL": "https://git.example.com/acme/models.git", "targetRevision": "main",
                              "path": "generated/production"}
    assert spec["destination"]["namespace"] == "models"
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "RespectIgnoreDifferences=true" in spec["syncPolicy"]["syncOptions"]
    ignored = spec["ignoreDifferences"][0]
    assert ignored["kind"] == "SeldonDeployment"
    assert ".spec.predictors[].replicas" in ignored["jqPathExpressions"]
    assert ignored["managedFieldsManagers"] == ["kube-controller-manager"]


def test_flux_kustomization_and_source(repo, crd_dir):
    files = compiled(repo, crd_dir)
    kustomization = load(files, "_gitops/edge/kustomization-flux.yaml")["spec"]
    assert kustomization["path"] == "./generated/edge"
    assert kustomization["prune"] is True and kustomization["interval"] == "2m"
    assert kustomization["sourceRef"] == {"kind": "GitRepository", "name": "modelops"}
    assert kustomization["healthChecks"] == [{"apiVersion": "machinelearning.seldon.io/v1",
                                              "kind": "SeldonDeployment", "name": "iris",
                                              "namespace": "models-edge"}]
    source = load(files, "_gitops/edge/gitrepository.yaml")["spec"]
    assert source["url"] == "https://git.example.com/acme/models.git"
    assert source["ref"] == {"branch": "release"}
    lab = load(files, "_gitops/lab/kustomization-flux.yaml")["spec"]
    assert lab["sourceRef"]["name"] == "platform-repo"


def test_every_gitops_object_validates_against_the_closed_upstream_schemas(repo, crd_dir):
    validator = ManifestValidator(SchemaSet.find(crd_dir))
    files = compiled(repo, crd_dir)
    for name in (n for n in files if n.startswith("_gitops/")):
        obj = load(files, name)
        assert validator.covers((obj["apiVersion"], obj["kind"])), name
        assert validator.problems(obj) == [], name
    broken = load(files, "_gitops/production/application.yaml")
    broken["spec"]["syncPolicy"]["automated"]["prunne"] = True
    assert validator.problems(broken)  # closed: a typo would be caught


def test_repo_url_is_required_for_argocd(repo, crd_dir):
    url = "      repo_url: https://git.example.com/acme/models.git\n"
    config = CONFIG.replace(url + "      argocd", "      argocd")
    result = build(repo({"iris.yaml": MODEL}, config), crd_dir=crd_dir)
    assert [str(d) for d in result.diagnostics] == [
        "modelops.yaml:5:5: MO100 environments.production: sync: argocd needs gitops.repo_url "
        "(the Git URL the controller pulls)"]


def test_compile_check_covers_gitops_files(repo, crd_dir):
    root = repo({"iris.yaml": MODEL}, CONFIG)
    runner = CliRunner()
    assert runner.invoke(cli, ["compile", "-C", str(root), "--crd-dir", str(crd_dir)]).exit_code == 0
    path = root / "generated" / "_gitops" / "production" / "application.yaml"
    path.write_text(path.read_text().replace("selfHeal: true", "selfHeal: false"))
    result = runner.invoke(cli, ["compile", "--check", "-C", str(root), "--crd-dir", str(crd_dir)])
    assert result.exit_code == 1
    assert "-      selfHeal: false" in result.output and "+      selfHeal: true" in result.output


HEALTH_DIR = Path(gitops.__file__).parent / "argocd"
HEALTH_CASES = sorted(
    (str(test.parent.relative_to(HEALTH_DIR)), case["inputPath"], case["healthStatus"])
    for test in HEALTH_DIR.glob("*/*/health_test.yaml")
    for case in yaml.safe_load(test.read_text())["tests"]
)


def health(script: str, obj):
    """Run an Argo CD health check under Lua 5.1, as Argo CD's gopher-lua does."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    assert lua.eval("_VERSION") == "Lua 5.1"
    check = lua.eval(f"function(obj)\n{script}\nend")
    result = check(lua.table_from(obj, recursive=True))
    return {"status": result["status"], "message": result["message"]}


@pytest.mark.parametrize(("folder", "input_path", "expected"), HEALTH_CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in HEALTH_CASES])
def test_argocd_health_checks_pass_their_health_test_yaml(folder, input_path, expected):
    group, kind = folder.split("/")
    obj = yaml.safe_load((HEALTH_DIR / folder / input_path).read_text())
    assert health(gitops.health_lua(group, kind), obj) == expected


def test_every_seldon_kind_has_health_cases_for_each_state():
    kinds = {case[0] for case in HEALTH_CASES}
    assert kinds == {"machinelearning.seldon.io/SeldonDeployment", "mlops.seldon.io/Model",
                     "mlops.seldon.io/Experiment"}
    for kind in kinds:
        statuses = {c[2]["status"] for c in HEALTH_CASES if c[0] == kind}
        assert statuses == {"Healthy", "Progressing", "Degraded"}


def test_argocd_cm_patch_carries_the_checks_as_readable_blocks(repo, crd_dir):
    text = compiled(repo, crd_dir)["_gitops/production/argocd-cm-patch.yaml"]
    patch = yaml.safe_load(text)
    assert patch["metadata"]["name"] == "argocd-cm" and patch["metadata"]["namespace"] == "gitops"
    for group, kind in gitops.HEALTH_CHECKED_KINDS:
        key = f"resource.customizations.health.{group}_{kind}"
        assert patch["data"][key] == gitops.health_lua(group, kind)
        assert f"  {key}: |\n" in text
    assert "\\n" not in text  # no escaped one-line string


def test_flux_ignore_rules_are_a_block(repo, crd_dir):
    text = compiled(repo, crd_dir)["_gitops/edge/gitrepository.yaml"]
    assert "  ignore: |\n    /*\n    !/generated/\n" in text


def test_flux_waits_for_seldon_v1_deployments_only_also_when_models_come_from_the_cache(repo, crd_dir):
    lab = "      flux: {source: platform-repo}"
    config = CONFIG.replace(lab, f"{lab}\n    target: kserve")
    root = repo({"iris.yaml": MODEL}, config)
    for _ in range(2):  # the second build takes iris from the render cache
        result = build(root, crd_dir=crd_dir)
        assert result.diagnostics == []
        edge = load(result.files, "_gitops/edge/kustomization-flux.yaml")["spec"]["healthChecks"]
        assert [(c["kind"], c["namespace"], c["name"]) for c in edge] == [
            ("SeldonDeployment", "models-edge", "iris")]
        assert load(result.files, "_gitops/lab/kustomization-flux.yaml")["spec"]["healthChecks"] == []
        assert documents(result.files["lab/models-lab/iris.yaml"])[0]["kind"] == "InferenceService"
    assert (root / ".modelops-cache" / "render.json").is_file()
