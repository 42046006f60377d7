"""Where output schemas come from: bundled with modelops, overridden per kind by the repo's
schemas/crds/, $MODELOPS_CRD_DIR and --crd-dir; a kind with no schema is one MO901 error."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from modelops.compile import pipeline
from modelops.compile.emit.schemas import (
    ALL_CRD_FILES,
    BUNDLED,
    CORE_DEFINITIONS,
    CORE_FILES,
    SchemaSet,
)
from modelops.compile.emit.validate import ManifestValidator, NoSchema
from modelops.compile.pipeline import build
from support.fixtures import modelops_path

ROOT = Path(__file__).resolve().parents[3]
IRIS = (ROOT / "models" / "iris-classifier.yaml").read_text(encoding="utf-8")
SDEP = ("machinelearning.seldon.io/v1", "SeldonDeployment")
SDEP_FILE = ALL_CRD_FILES[SDEP]
# A raw SeldonDeployment schema that knows no `spec`: once closed, every generated one fails it.
NO_SPEC = {"type": "object", "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                            "metadata": {"type": "object"}}}
ANYTHING = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELOPS_CRD_DIR", raising=False)
    monkeypatch.setenv("MODELOPS_NO_CACHE", "1")


def folder(base: Path, schemas: dict[str, Any]) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (base / name).write_text(json.dumps(schema), encoding="utf-8")
    return base


def compile_errors(root: Path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "MODELOPS_CRD_DIR"}
    done = subprocess.run([modelops_path(), "compile", *args], cwd=root, capture_output=True, text=True,
                          env={**environment, **(env or {})})
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if ": MO" in line]
    assert (done.returncode == 0) == (not lines), done.stderr
    return lines


# --- a fresh repo validates custom resources ----------------------------------------------------


def test_a_repo_without_schemas_validates_custom_resources(repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """No schemas/crds, no env var, no flag: the bundled CRD still rejects a field it does not know."""
    root = repo({"iris-classifier.yaml": IRIS})
    assert not (root / "schemas").exists()
    assert build(root).diagnostics == []
    target = pipeline.target_for("seldon-v1")
    real = target.render

    def misspelling(model: Any) -> list[dict[str, Any]]:  # a target bug: a field the CRD does not have
        objects = copy.deepcopy(real(model))
        for obj in objects:
            if obj["kind"] == "SeldonDeployment":
                obj["spec"]["predictors"][0]["trafic"] = 100
        return objects

    monkeypatch.setattr(target, "render", misspelling)
    errors = [str(d) for d in build(root).diagnostics]
    assert errors and all(" MO900 generated SeldonDeployment " in e and "trafic" in e for e in errors)


# --- lookup order -------------------------------------------------------------------------------


def test_each_kind_takes_the_first_folder_that_has_it(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    folder(root / "schemas" / "crds", {SDEP_FILE: NO_SPEC, "podmonitor.json": NO_SPEC})
    env = folder(tmp_path / "env", {SDEP_FILE: ANYTHING, "servicemonitor.json": ANYTHING})
    flag = folder(tmp_path / "flag", {"servicemonitor.json": NO_SPEC})

    def origins(schemas: SchemaSet) -> dict[str, str]:
        found = {s.kind: s.origin for s in schemas.sources() if not isinstance(s, tuple)}
        return {kind: found[kind] for kind in ("SeldonDeployment", "PodMonitor", "ServiceMonitor",
                                               "PrometheusRule", "Service")}

    assert origins(SchemaSet.find(None, root, environ={})) == {
        "SeldonDeployment": "repo", "PodMonitor": "repo", "ServiceMonitor": "bundled",
        "PrometheusRule": "bundled", "Service": "bundled"}
    assert origins(SchemaSet.find(None, root, environ={"MODELOPS_CRD_DIR": str(env)})) == {
        "SeldonDeployment": "env", "PodMonitor": "repo", "ServiceMonitor": "env",
        "PrometheusRule": "bundled", "Service": "bundled"}
    assert origins(SchemaSet.find(flag, root, environ={"MODELOPS_CRD_DIR": str(env)})) == {
        "SeldonDeployment": "env", "PodMonitor": "repo", "ServiceMonitor": "flag",
        "PrometheusRule": "bundled", "Service": "bundled"}


def test_compile_uses_the_winning_schema(repo, tmp_path: Path) -> None:
    """The repo's schema beats the bundled one, the env's beats the repo's, the flag's beats the env's;
    pulled schemas are raw upstream ones and are closed before use."""
    root = repo({"iris-classifier.yaml": IRIS})
    assert compile_errors(root) == []
    folder(root / "schemas" / "crds", {SDEP_FILE: NO_SPEC})
    errors = compile_errors(root)
    assert errors and all("MO900 generated SeldonDeployment" in e and "spec" in e for e in errors)
    env = {"MODELOPS_CRD_DIR": str(folder(tmp_path / "env", {SDEP_FILE: ANYTHING}))}
    assert compile_errors(root, env=env) == []
    flag = folder(tmp_path / "flag", {SDEP_FILE: NO_SPEC})
    assert compile_errors(root, "--crd-dir", str(flag), env=env) == errors


def test_a_new_schema_invalidates_the_render_cache(repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cached models were validated against the old schemas: pulling a stricter one re-validates them."""
    monkeypatch.delenv("MODELOPS_NO_CACHE")
    root = repo({"iris-classifier.yaml": IRIS})
    assert compile_errors(root) == [] and (root / ".modelops-cache" / "render.json").is_file()
    folder(root / "schemas" / "crds", {SDEP_FILE: NO_SPEC})
    assert any("MO900 generated SeldonDeployment" in e for e in compile_errors(root))


def test_a_missing_folder_named_by_the_env_var_is_a_usage_error(repo, tmp_path: Path) -> None:
    root = repo({"iris-classifier.yaml": IRIS})
    done = subprocess.run([modelops_path(), "compile"], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "MODELOPS_CRD_DIR": str(tmp_path / "nope")})
    assert done.returncode == 2 and "does not exist" in done.stderr and "Traceback" not in done.stderr
    assert not (root / "generated").exists()


# --- no schema anywhere: MO901 ----------------------------------------------------------------


def test_a_kind_without_a_schema_is_reported_never_skipped(tmp_path: Path) -> None:
    validator = ManifestValidator(SchemaSet((("bundled", tmp_path),)))
    with pytest.raises(NoSchema, match=r"SeldonDeployment \(machinelearning.seldon.io/v1\).*schemas pull"):
        validator.problems({"apiVersion": SDEP[0], "kind": SDEP[1], "spec": {}})
    with pytest.raises(NoSchema, match="Widget"):
        ManifestValidator().problems({"apiVersion": "example.com/v1", "kind": "Widget"})


def test_compile_reports_each_kind_without_a_schema_once(
    repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the bundled SeldonDeployment hidden, two models x two environments give one MO901 line."""
    hidden = folder(tmp_path / "bundled", {n: json.loads((BUNDLED / "crds" / n).read_text())
                                           for n in ALL_CRD_FILES.values() if n != SDEP_FILE})
    monkeypatch.setattr(pipeline.SchemaSet, "find",
                        classmethod(lambda cls, explicit, root: cls((("bundled", hidden),))))
    second = IRIS.replace("name: iris-classifier", "name: iris-two")
    root = repo({"iris-classifier.yaml": IRIS, "iris-two.yaml": second})
    errors = [str(d) for d in build(root).diagnostics]
    assert errors == [
        "modelops.yaml:1:1: MO901 no schema to validate generated SeldonDeployment "
        "(machinelearning.seldon.io/v1) against: run `modelops schemas pull` against a cluster that "
        "serves it, or pass --crd-dir with a folder holding seldondeployment-v1.json"
    ]


# --- modelops schemas list ----------------------------------------------------------------------


def test_schemas_list_says_where_each_schema_comes_from(repo, tmp_path: Path) -> None:
    root = repo({"iris-classifier.yaml": IRIS})
    folder(root / "schemas" / "crds", {"podmonitor.json": NO_SPEC})
    env = folder(tmp_path / "env", {"servicemonitor.json": NO_SPEC})
    probe = ("import sys; from modelops.cli.main import main; sys.argv = ['modelops', *sys.argv[1:]]\n"
             "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
             "print('kubernetes' in sys.modules)")
    environment = {**os.environ, "MODELOPS_CRD_DIR": str(env)}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, "schemas", "list", *args], cwd=root,
                              capture_output=True, text=True, env=environment, check=True)
        *out, imported = done.stdout.splitlines()
        assert imported == "False", "schemas list imported the Kubernetes client"
        return "\n".join(out)

    rows = {(r["apiVersion"], r["kind"]): r for r in json.loads(run("-o", "json"))["schemas"]}
    assert set(rows) == {*ALL_CRD_FILES, *CORE_FILES}
    assert rows[("monitoring.coreos.com/v1", "PodMonitor")] == {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "origin": "repo",
        "path": str(root / "schemas" / "crds" / "podmonitor.json"), "upstream": None}
    assert rows[("monitoring.coreos.com/v1", "ServiceMonitor")]["origin"] == "env"
    assert rows[SDEP]["origin"] == "bundled" and rows[SDEP]["upstream"] == "SeldonIO/seldon-core v1.18.2"
    assert rows[SDEP]["path"] == str(BUNDLED / "crds" / SDEP_FILE)
    assert rows[("v1", "Service")]["upstream"].startswith("kubernetes-validate ")
    text = run().splitlines()
    assert len(text) == len(rows)
    (line,) = [t for t in text if " SeldonDeployment " in t]
    assert line.split()[:3] == ["machinelearning.seldon.io/v1", "SeldonDeployment", "bundled"]
    assert line.endswith("SeldonIO/seldon-core v1.18.2")
    (line,) = [t for t in text if " PodMonitor " in t]
    assert line.split() == ["monitoring.coreos.com/v1", "PodMonitor", "repo",
                            str(root / "schemas" / "crds" / "podmonitor.json")]


# --- the bundling script --------------------------------------------------------------------------

SCRIPT = ROOT / "compiler" / "tools" / "bundle_schemas.py"
SPEC = importlib.util.spec_from_file_location("bundle_schemas", SCRIPT)
assert SPEC and SPEC.loader
bundler = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bundler)

UPSTREAM_CRD = {
    "description": "A tiny CRD.",
    "type": "object",
    "properties": {
        "spec": {
            "description": "the spec",
            "type": "object",
            "required": ["mode"],
            "properties": {
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a", "example": "a"},
                "strategy": {"type": "string", "pattern": "(?i)(abort|warn)"},
                "description": {"type": "string", "description": "a field named description"},
                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "port": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                         "x-kubernetes-int-or-string": True},
            },
        },
    },
}
CORE_KIND = {"$id": "https://kubernetes.io/api/x/v1", "type": "object", "additionalProperties": False,
             "description": "core", "properties": {"spec": {"$ref": "/api/_definitions.json#/$defs/a.Spec"}}}
DEFINITIONS = {"$id": "https://kubernetes.io/api/_definitions.json", "$defs": {
    "a.Spec": {"type": "object", "description": "d", "properties": {"x": {"$ref": "#/$defs/a.X"}}},
    "a.X": {"type": "integer", "format": "int32"},
    "a.Unused": {"type": "string"},
}}


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, Path]:
    crds = folder(tmp_path / "upstream", dict.fromkeys(ALL_CRD_FILES.values(), UPSTREAM_CRD))
    core = folder(tmp_path / "k8s", {**dict.fromkeys(CORE_FILES.values(), CORE_KIND),
                                     CORE_DEFINITIONS: DEFINITIONS})
    return crds, core


def test_bundling_keeps_structure_and_drops_documentation(upstream: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    crds, core = upstream
    out = tmp_path / "out"
    args = ["--upstream", str(crds), "--kubernetes", str(core), "--out", str(out)]
    assert bundler.main(args) == 0
    text = (out / "crds" / SDEP_FILE).read_text()
    assert "\n" not in text.rstrip("\n") and ": " not in text  # compact
    spec = json.loads(text)["properties"]["spec"]
    assert spec == {
        "type": "object", "required": ["mode"], "additionalProperties": False,
        "properties": {
            "mode": {"type": "string", "enum": ["a", "b"]},
            "strategy": {"type": "string", "pattern": "([aA][bB][oO][rR][tT]|[wW][aA][rR][nN])"},
            "description": {"type": "string"},
            "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "port": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
        },
    }
    definitions = json.loads((out / "kubernetes" / CORE_DEFINITIONS).read_text())
    assert sorted(definitions["$defs"]) == ["a.Spec", "a.X"]  # only what the core kinds reach
    assert "description" not in json.dumps(definitions)
    provenance = {e["file"]: e for e in json.loads((out / "provenance.json").read_text())["files"]}
    entry = provenance[f"crds/{SDEP_FILE}"]
    assert (entry["kind"], entry["apiVersion"], entry["version"]) == ("SeldonDeployment", SDEP[0], "v1.18.2")
    assert entry["sha256"] == hashlib.sha256((crds / SDEP_FILE).read_bytes()).hexdigest()
    before = {p: p.read_bytes() for p in out.rglob("*.json")}
    assert bundler.main(args) == 0 and {p: p.read_bytes() for p in out.rglob("*.json")} == before
    assert bundler.main([*args, "--check"]) == 0
    (out / "crds" / "podmonitor.json").write_text("{}\n")
    assert bundler.main([*args, "--check"]) == 1
    assert (out / "crds" / "podmonitor.json").read_text() == "{}\n"  # --check writes nothing


def test_bundling_refuses_a_keyword_it_does_not_know(upstream: tuple[Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    crds, core = upstream
    folder(crds, {SDEP_FILE: {"type": "object", "properties": {"a": {"dependentRequired": {}}}}})
    args = ["--upstream", str(crds), "--kubernetes", str(core), "--out", str(tmp_path / "out")]
    assert bundler.main(args) == 1
    assert "unknown schema keyword 'dependentRequired' at /properties/a" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
