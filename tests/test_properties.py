"""Properties of the whole pipeline: valid specs compile cleanly, output is deterministic, and no
input, however broken, makes the compiler raise or print a malformed diagnostic."""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelops.compile.pipeline import build
from support.generated_files import documents, of_kind

SETTINGS = settings(
    max_examples=int(os.environ.get("MODELOPS_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DIAGNOSTIC = re.compile(r"^[^:]+:\d+:\d+: MO\d{3} .+$")
NAMES = ("alpha", "beta", "gamma", "delta")
VARIANTS = ("main", "canary", "b", "c")


# --- valid specs ---------------------------------------------------------------------------------


@st.composite
def weights(draw: st.DrawFn, count: int) -> list[int]:
    if count == 1:
        return [draw(st.sampled_from([None, 100]))]
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 100]
    return [high - low for low, high in zip(bounds, bounds[1:], strict=False)]


@st.composite
def quantities(draw: st.DrawFn, unit: str) -> tuple[str, str]:
    """A request and a limit at least as large."""
    request = draw(st.integers(1, 4000))
    limit = request * draw(st.integers(1, 4))
    return f"{request}{unit}", f"{limit}{unit}"


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    cpu = draw(quantities("m"))
    memory = draw(quantities("Mi"))
    out: dict[str, Any] = {"requests": {"cpu": cpu[0], "memory": memory[0]}}
    # the repo default limit is 1Gi: a request above it needs its own limit
    out["limits"] = {"memory": memory[1]}
    if draw(st.booleans()):
        out["limits"]["cpu"] = cpu[1]
    if draw(st.booleans()):
        gpu = draw(st.integers(0, 2))
        out["requests"]["gpu"] = gpu
        out["limits"]["gpu"] = gpu + draw(st.integers(0, 1))
    return out


def uris(name: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda scheme, version: f"{scheme}://acme-models/{name}/{version}",
        st.sampled_from(["s3", "gs"]),
        st.integers(1, 99),
    )


@st.composite
def specs(draw: st.DrawFn, name: str) -> dict[str, Any]:
    framework = draw(
        st.sampled_from(
            ["sklearn", "xgboost", "mlflow", "tensorflow", "triton", "huggingface", "custom"]
        )
    )
    spec: dict[str, Any] = {"name": name, "team": draw(st.sampled_from(["risk", "search"]))}
    spec["framework"] = framework
    if framework == "custom":
        spec["image"] = f"ghcr.io/acme/{name}:1"
    protocols = {
        "triton": ["v2"],
        "tensorflow": ["seldon", "tensorflow"],  # Seldon Core v1 has no TF Serving image for v2
        "custom": ["v2", "seldon"],
    }
    protocol = draw(st.sampled_from(protocols.get(framework, ["v2", "seldon"])))
    if protocol != "v2" or draw(st.booleans()):
        spec["protocol"] = protocol
    if framework not in ("custom", "huggingface") or draw(st.booleans()):
        artifact: dict[str, Any] = {"uri": draw(uris(name))}
        if draw(st.booleans()):
            artifact["secret"] = "s3-readonly"
        if draw(st.booleans()):
            artifact["mlflow"] = {"model": name, "version": draw(st.integers(1, 50))}
        spec["artifact"] = artifact
    autoscaled = draw(st.booleans())
    if autoscaled:
        low = draw(st.integers(1, 5))
        scaling: dict[str, Any] = {"min": low, "max": draw(st.integers(low, 20))}
        for metric in draw(st.sets(st.sampled_from(["cpu", "memory"]), min_size=1)):
            scaling[metric] = draw(st.integers(1, 100))
        spec["autoscaling"] = scaling
    elif draw(st.booleans()):
        spec["replicas"] = draw(st.integers(0, 20))
    if draw(st.booleans()):
        spec["resources"] = draw(resources())
    if draw(st.booleans()):
        monitoring: dict[str, Any] = {
            "kind": draw(st.sampled_from(["ServiceMonitor", "PodMonitor"]))
        }
        monitoring["enabled"] = draw(st.booleans())
        monitoring["interval"] = draw(st.sampled_from(["15s", "30s", "1m", "1m30s"]))
        spec["monitoring"] = monitoring
    if draw(st.booleans()):
        spec["logging"] = {"mode": draw(st.sampled_from(["none", "request", "response", "all"]))}
    if draw(st.booleans()):
        spec["probes"] = {"readiness": {"initial_delay": draw(st.integers(0, 120)), "period": 10}}
    if draw(st.booleans()):
        spec["env"] = {"LOG_LEVEL": draw(st.sampled_from(["debug", "info"]))}
    count = draw(st.integers(1, 3))
    traffic: dict[str, Any] = {}
    for variant, weight in zip(VARIANTS, draw(weights(count)), strict=False):
        entry: dict[str, Any] = {} if weight is None else {"weight": weight}
        if variant != "main" and spec.get("artifact") and draw(st.booleans()):
            entry["artifact"] = {"uri": draw(uris(name))}
        if not autoscaled and draw(st.booleans()):
            entry["replicas"] = draw(st.integers(1, 5))
        traffic[variant] = entry
    if draw(st.booleans()):
        traffic["shadow"] = {"shadow": True}
    if count > 1 or "shadow" in traffic or draw(st.booleans()):
        spec["traffic"] = traffic
    envs = draw(st.sampled_from([None, ["production"], ["staging"], ["production", "staging"]]))
    if envs is not None:
        spec["environments"] = {env: {} for env in envs}
        if "production" in envs and draw(st.booleans()):
            spec["environments"]["production"] = (
                {"autoscaling": {"max": 20}} if autoscaled else {"replicas": 2}
            )
    return spec


def dump(spec: Any) -> str:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def models_of(specs_: list[dict[str, Any]]) -> dict[str, str]:
    return {f"{s['name']}.yaml": dump(s) for s in specs_}


@st.composite
def model_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    return [draw(specs(name)) for name in names]


@SETTINGS
@given(spec=specs("alpha"))
def test_valid_spec_compiles_to_schema_valid_objects(repo, crd_dir, spec):
    result = build(repo({"alpha.yaml": dump(spec)}), crd_dir=crd_dir)
    assert [str(d) for d in result.diagnostics] == []  # MO900 would mean schema-invalid output
    envs = sorted(spec.get("environments") or ["production", "staging"])
    assert sorted({name.split("/")[0] for name in result.files}) == envs
    for name, text in result.files.items():
        for obj in documents(text):
            assert obj["apiVersion"] and obj["kind"], name
    sdeps = list(of_kind(result.files, "SeldonDeployment").values())
    assert len(sdeps) == len(envs)
    for sdep in sdeps:
        serving = [p for p in sdep["spec"]["predictors"] if not p.get("shadow")]
        assert sum(p["traffic"] for p in serving) == 100


@SETTINGS
@given(specs_=model_sets(), order=st.randoms(use_true_random=False))
def test_output_is_deterministic(repo, crd_dir, specs_, order):
    models = models_of(specs_)
    root = repo(models)
    first = build(root, crd_dir=crd_dir)
    again = build(root, crd_dir=crd_dir)
    shuffled = list(models.items())
    order.shuffle(shuffled)
    other = build(repo(dict(reversed(shuffled))), crd_dir=crd_dir)
    assert first.diagnostics == []
    assert first.files == again.files == other.files
    assert first.repo_files == again.repo_files == other.repo_files


# --- broken input --------------------------------------------------------------------------------


def _printable(char: str) -> bool:
    # Control and line-separator characters are excluded: they hit two known bugs (see the xfail
    # tests in test_rules.py) that would otherwise fail this property at random.
    return unicodedata.category(char) not in {"Cc", "Cs", "Zl", "Zp"}


TEXT = st.text(st.characters(codec="utf-8").filter(_printable), max_size=12)
KEYS = st.one_of(
    st.sampled_from(["replicas", "weight", "shadow", "uri", "min", "max", "cpu", "main", "x"]),
    TEXT.filter(lambda s: "\\" not in s),
)
JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**20), st.floats(), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=6,
)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _parent(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    spec = draw(specs("alpha"))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(spec)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        target = _parent(spec, path) if path else None
        if action == "delete" and path:
            del target[path[-1]]
        elif action == "replace" and path:
            target[path[-1]] = draw(JUNK)
        else:
            node = _parent(spec, (*path, None))
            if isinstance(node, dict):
                node[draw(KEYS)] = draw(JUNK)
            elif isinstance(node, list):
                node.append(draw(JUNK))
    return spec


def _garbage_text(valid: str, draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["truncate", "splice", "random"]))
    if kind == "truncate":
        return valid[: draw(st.integers(0, len(valid)))]
    if kind == "splice":
        at = draw(st.integers(0, len(valid)))
        return valid[:at] + draw(TEXT) + valid[at:]
    return draw(st.text(st.characters(codec="utf-8").filter(_printable), max_size=200))


def check_run(repo, crd_dir, content: str | bytes, *, check_format: bool = True) -> None:
    root = repo({})
    path = root / "models" / "alpha.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = build(root, crd_dir=crd_dir)  # must not raise
    # MO900 means the compiler accepted the input but emitted a schema-invalid object: a bug
    assert not [str(d) for d in result.diagnostics if d.code == "MO900"]
    for diagnostic in result.diagnostics if check_format else []:
        text = str(diagnostic)
        assert DIAGNOSTIC.match(text), text
        assert len(text.splitlines()) == 1, text


@SETTINGS
@given(spec=mutated())
def test_mutated_spec_never_crashes(repo, crd_dir, spec):
    check_run(repo, crd_dir, dump(spec))


@SETTINGS
@given(data=st.data())
def test_garbage_text_never_crashes(repo, crd_dir, data):
    valid = dump(data.draw(specs("alpha")))
    check_run(repo, crd_dir, _garbage_text(valid, data.draw))


@SETTINGS
@given(data=st.data())
def test_garbage_bytes_never_crash(repo, crd_dir, data):
    valid = dump(data.draw(specs("alpha"))).encode()
    at = data.draw(st.integers(0, len(valid)))
    content = valid[:at] + data.draw(st.binary(max_size=40)) + valid[at:]
    # raw bytes may hold control characters (a known multi-line MO001 bug): only check no raise
    check_run(repo, crd_dir, content, check_format=False)
