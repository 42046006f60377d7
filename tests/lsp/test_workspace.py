"""The workspace tells each file what `modelops validate` reports for it, from buffers over the disk,
while it checks only the buffer that changed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from modelops.compile import pipeline
from modelops.compile.pipeline import build
from modelops.lsp.workspace import Workspace
from support.fixtures import CONFIG, IRIS, make_repo

TOKEN = "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345"
SEARCH = IRIS.replace("name: iris", "name: ranker").replace("team: risk", "team: search")


@pytest.fixture(autouse=True)
def _no_render_cache(monkeypatch: pytest.MonkeyPatch, crd_dir: Path) -> None:
    monkeypatch.setenv("MODELOPS_NO_CACHE", "1")
    monkeypatch.setenv("MODELOPS_CRD_DIR", str(crd_dir))


def as_validate(root: Path, buffers: dict[str, str]) -> dict[str, list[object]]:
    """What validate reports per file once the buffers are saved."""
    for shown, text in buffers.items():
        (root / shown).write_text(text, encoding="utf-8")
    found: dict[str, list[object]] = {}
    for d in build(root).diagnostics:
        found.setdefault(d.path, []).append(d)
    return found


def check(workspace: Workspace, buffers: dict[str, str], *also: str) -> dict[str, list[object]]:
    """Set the buffers, then compare what each of them (and `also`) is told with validate."""
    for shown, text in buffers.items():
        workspace.set_text(shown, text)
    told = {shown: workspace.diagnostics(shown) for shown in [*buffers, *also]}
    expected = as_validate(workspace.root, buffers)
    assert told == {shown: expected.get(shown, []) for shown in told}
    return told


def _rule_cases() -> ModuleType:
    """tests/compile/rules/test_checks.py: a model text for every rule, good and bad."""
    path = Path(__file__).parents[1] / "compile" / "rules" / "test_checks.py"
    spec = importlib.util.spec_from_file_location("rule_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = _rule_cases()
RULE_TEXTS = {**{name: text for name, (text, *_) in CASES.BAD.items()}, **CASES.GOOD}


@pytest.mark.parametrize("case", sorted(RULE_TEXTS))
def test_every_rule_case_is_told_as_validate_reports_it(tmp_path: Path, case: str) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS, "ranker.yaml": SEARCH})
    check(Workspace(root), {"models/iris.yaml": RULE_TEXTS[case]}, "models/ranker.yaml", "modelops.yaml")


@pytest.mark.parametrize("text", [
    IRIS.replace("team: risk", "team: nobody"),  # MO202: modelops.yaml's teams
    IRIS + "replicas: 50\n",  # MO240: the policy
    IRIS.replace("name: iris", "name: Iris"),  # MO100 from the spec
    "name: [\n",  # MO001
    "",  # an empty file
    IRIS + f"labels:\n  {TOKEN}: x\n",  # MO260 of the render stage
    IRIS.replace("framework: sklearn", "framework: lightgbm\ntarget: seldon-v1"),
])
def test_a_buffer_is_told_what_validate_reports(tmp_path: Path, text: str) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS, "ranker.yaml": SEARCH})
    workspace = Workspace(root)
    check(workspace, {"models/iris.yaml": text}, "models/ranker.yaml", "modelops.yaml")


def test_the_render_stage_waits_for_every_other_file(tmp_path: Path) -> None:
    broken = SEARCH.replace("team: search", "team: nobody")
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS, "ranker.yaml": broken})
    workspace = Workspace(root)
    told = check(workspace, {"models/iris.yaml": IRIS + f"labels:\n  {TOKEN}: x\n"}, "models/ranker.yaml")
    assert told["models/iris.yaml"] == []  # the credential is not reported while ranker fails
    told = check(workspace, {"models/ranker.yaml": SEARCH}, "models/iris.yaml")
    assert {d.code for d in told["models/iris.yaml"]} == {"MO260"}  # type: ignore[attr-defined]


def test_checks_across_models_use_the_other_files(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS})
    workspace = Workspace(root)
    told = check(workspace, {"models/iris.yml": IRIS}, "models/iris.yaml")  # a new file, the same name
    assert "MO206" in [d.code for d in told["models/iris.yml"]]  # type: ignore[attr-defined]
    workspace.close("models/iris.yml")
    (root / "models" / "iris.yml").unlink()
    workspace.on_disk_changed("models/iris.yml")
    assert workspace.diagnostics("models/iris.yaml") == [] and workspace.models() == ["models/iris.yaml"]


def test_a_team_cap_counts_every_model_of_the_team(tmp_path: Path) -> None:
    config = CONFIG.replace('    reviewers: ["@acme/risk-ds"]\n',
                            '    reviewers: ["@acme/risk-ds"]\n    max_replicas: 5\n')
    other = IRIS.replace("name: iris", "name: iris-two") + "replicas: 3\n"
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS, "iris-two.yaml": other}, config)
    workspace = Workspace(root)
    told = check(workspace, {"models/iris.yaml": IRIS + "replicas: 3\n"}, "models/iris-two.yaml")
    assert "MO404" in [d.code for d in told["models/iris.yaml"] + told["models/iris-two.yaml"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("config", [
    CONFIG.replace("  search:\n", "  ranking:\n"),  # ranker's team is gone
    CONFIG + "teams: {}\n",  # invalid: only parse errors of the models
    CONFIG.replace("max_replicas: 20", "max_replicas: 0"),
    CONFIG.replace("    namespace: models\n", "    namespace: models\n    sync: argocd\n"
                   f"    gitops:\n      repo_url: 'https://x:{TOKEN}@git.example.com/acme'\n"),
    "environments: {}\n",
])
def test_a_change_to_modelops_yaml_checks_every_model_again(tmp_path: Path, config: str) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS, "ranker.yaml": SEARCH})
    workspace = Workspace(root)
    check(workspace, {"models/iris.yaml": IRIS + "replicas: 30\n"}, "models/ranker.yaml")
    check(workspace, {"models/iris.yaml": IRIS + "replicas: 3\n", "modelops.yaml": config},
          "models/ranker.yaml")


def test_a_keystroke_checks_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path / "repo", {f"m{i}.yaml": IRIS.replace("name: iris", f"name: m{i}")
                                         for i in range(20)})
    workspace = Workspace(root)
    checked: list[str] = []
    original = pipeline.check_text

    def counting(text: str, shown: str, *args: object, **kwargs: object) -> object:
        checked.append(shown)
        return original(text, shown, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("modelops.lsp.workspace.check_text", counting)
    workspace.set_text("models/m3.yaml", IRIS.replace("name: iris", "name: m4"))
    assert [d.code for d in workspace.diagnostics("models/m3.yaml")] == ["MO201"]
    assert checked == ["models/m3.yaml"]
    workspace.set_text("modelops.yaml", CONFIG)
    assert len(checked) == 21  # modelops.yaml: every model again, none read from disk again


def test_an_unsaved_buffer_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS})
    workspace = Workspace(root)
    workspace.set_text("models/iris.yaml", IRIS + "#" * (1 << 20))
    assert [d.code for d in workspace.diagnostics("models/iris.yaml")] == ["MO006"]


def test_only_modelops_yaml_and_model_files_belong(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS})
    workspace = Workspace(root)
    assert workspace.shown(root / "modelops.yaml") == "modelops.yaml"
    assert workspace.shown(root / "models" / "iris.yml") == "models/iris.yml"
    assert workspace.shown(root / "models" / "sub" / "iris.yaml") is None
    assert workspace.shown(root / "models" / "notes.txt") is None
    assert workspace.shown(root / "generated" / "modelops.yaml") is None
