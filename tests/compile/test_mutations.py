"""Mutated model files and configs (seeded with Seldon v1, Core 2, KServe and GitOps setups) never
crash the compiler: every problem is one printable `path:line:col: MOnnn message` line."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelops.compile.pipeline import build
from support.fixtures import make_repo

LINE = re.compile(r"^[^\n]*:\d+:\d+: MO\d{3} [^\n]*$")
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SETTINGS = settings(
    max_examples=int(os.environ.get("MODELOPS_HYPOTHESIS_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CONFIG: dict[str, Any] = {
    "environments": {
        "v1": {"namespace": "models-v1", "target": "seldon-v1", "sync": "argocd",
               "gitops": {"repo_url": "https://github.com/acme/models.git"}},
        "core2": {"namespace": "models-core2", "target": "seldon-v2", "sync": "flux",
                  "gitops": {"repo_url": "ssh://git@github.com/acme/models.git"}},
        "edge": {"namespace": "models-edge", "target": "kserve", "kserve_mode": "Standard",
                 "protected": True},
    },
    "defaults": {"resources": {"requests": {"memory": "256Mi"}, "limits": {"memory": "1Gi"}}},
    "teams": {"risk": {"reviewers": ["@acme/risk-ds"], "max_replicas": 40}},
    "policy": {"allowed_schemes": ["s3", "gs"], "max_replicas": 20},
}
SEEDS: dict[str, dict[str, Any]] = {
    "iris": {
        "name": "iris", "team": "risk", "framework": "sklearn", "protocol": "v2",
        "artifact": {"uri": "s3://acme-models/iris/v3", "secret": "s3-read"},
        "replicas": 2, "monitoring": {"interval": "30s"},
        "labels": {"tier": "gold"}, "environments": {"v1": {"env": {"LOG_LEVEL": "info"}}, "edge": {}},
    },
    "ranker": {
        "name": "ranker", "team": "risk", "framework": "xgboost",
        "artifact": {"uri": "gs://acme-models/ranker/v7"},
        "autoscaling": {"min": 2, "max": 6, "cpu": 60},
        "environments": {"core2": {"autoscaling": {"max": 6, "cpu": None, "rps": 50}},
                         "v1": {"resources": {"requests": {"cpu": "250m"}}}},
        "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "traffic": {"main": {"weight": 90},
                    "canary": {"weight": 10, "artifact": {"uri": "gs://acme-models/ranker/v8"}}},
    },
    "eta": {
        "name": "eta", "team": "risk", "framework": "mlflow",
        "artifact": {"uri": "s3://acme-models/eta/v2"},
        "environments": {"edge": {"autoscaling": {"max": 4, "cpu": 70},
                                  "resources": {"requests": {"cpu": "500m"}}},
                         "core2": {"replicas": 1}},
    },
}
WEIRD_TEXT = st.sampled_from(["", "\x1b[31m", "\x85", "\u2028", "\x00", "é", "\U0001f600", "\udcff"[:0],
                              "1Ei", "2E", "1e999", "-1", ".inf", "a" * 300, "${X}", "git@h:x.git"])
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), WEIRD_TEXT, st.text(max_size=8),
    st.sampled_from(["1Ei", "2E", "1.5e3", "500m", "1Pi", "0.1", "1e-9", "+3k"]),
)


def values() -> st.SearchStrategy[Any]:
    return st.recursive(LEAVES, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(WEIRD_TEXT, st.text(max_size=5)), inner,
                                                      max_size=3)), max_leaves=6)


def paths(data: Any) -> list[tuple[Any, ...]]:
    """Every path to a node of `data` (dict keys and list indices)."""
    found: list[tuple[Any, ...]] = [()]
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in items:
        found += [(key, *rest) for rest in paths(value)]
    return found


def mutate(data: Any, path: tuple[Any, ...], how: str, new: Any, key: str) -> Any:
    if not path:
        return new if how == "value" else data
    head, rest = path[0], path[1:]
    copy = dict(data) if isinstance(data, dict) else list(data)
    if rest or how == "value":
        copy[head] = mutate(copy[head], rest, how, new, key)
    elif isinstance(copy, dict) and how == "key":
        copy[key] = copy.pop(head)
    elif isinstance(copy, dict) and how == "nest":
        value = copy[head]
        for _ in range(60):
            value = {"x": value}
        copy[head] = value
    else:
        copy[head] = None
    return copy


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    data = seed
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(data)))
        how = draw(st.sampled_from(["value", "key", "nest", "null"]))
        data = mutate(data, path, how, draw(values()), draw(st.one_of(WEIRD_TEXT, st.text(max_size=6))))
    return data


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def repos(draw: st.DrawFn) -> tuple[dict[str, str], str]:
    models = {f"{name}.yaml": dump(spec) for name, spec in SEEDS.items()}
    target = draw(st.sampled_from([*models, "modelops.yaml"]))
    if target == "modelops.yaml":
        return models, dump(draw(mutated(CONFIG)))
    models[target] = dump(draw(mutated(SEEDS[target.removesuffix(".yaml")])))
    return models, dump(CONFIG)


def test_the_seeds_compile_cleanly(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {f"{n}.yaml": dump(s) for n, s in SEEDS.items()}, dump(CONFIG))
    result = build(root)
    assert [str(d) for d in result.diagnostics] == []
    assert {name.split("/")[0] for name in result.files} >= {"v1", "core2", "edge", "_gitops"}


@pytest.mark.slow
@SETTINGS
@given(case=repos())
def test_mutated_inputs_are_diagnostics_never_crashes(tmp_path_factory: pytest.TempPathFactory,
                                                      case: tuple[dict[str, str], str]) -> None:
    models, config = case
    root = make_repo(tmp_path_factory.mktemp("mut") / "repo", models, config)
    result = build(root)  # an exception here is what the CLI reports as exit 3
    for diagnostic in result.diagnostics:
        line = str(diagnostic)
        assert LINE.match(line), line
        assert not UNPRINTABLE.search(line), line
        assert diagnostic.code != "MO900", line  # "a modelops bug": bad input must be caught earlier
