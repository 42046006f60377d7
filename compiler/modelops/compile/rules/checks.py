"""Rules a valid spec must follow beyond its shape: Seldon's admission webhook, policy, secrets.

Each rule is a small function returning diagnostics that point at the key the user must change.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from modelops.compile.resolve import ResolvedModel, ResolvedVariant
from modelops.compile.rules.secrets import find_secret, random_looking
from modelops.compile.source import Document, Loc
from modelops.compile.spec import QUANTITY_RE, ModelSpec, RepoConfig
from modelops.diagnostics import Diagnostic

PINNED_SCHEMES = {
    "models": "models:/ URIs cannot be read by Seldon: pin the storage URI "
    "(`modelops promote` does this)",
    "mlflow-artifacts": "mlflow-artifacts:/ URIs cannot be read by Seldon: "
    "use the bucket the MLflow server stores artifacts in",
}
NO_TENSORFLOW_PROTOCOL = {"sklearn", "xgboost", "mlflow", "huggingface"}
NO_V1_PROTOCOL = {"mlflow"}
NEEDS_NO_URI = {"custom", "huggingface"}
SCALE_METRICS = ("cpu", "memory", "rps", "concurrency")
# Kubernetes' own namespaces: control-plane add-ons, cluster-wide readable data, node heartbeats, and
# the namespace every unqualified `kubectl` command acts in. Models deploy there only when policy says so.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")
# Environment variables that decide which code a server runs: the dynamic loader's (LD_PRELOAD,
# LD_LIBRARY_PATH, LD_AUDIT, ...: any LD_ prefix), the programs found (PATH), Python's modules.
LOADER_ENV = ("PATH", "PYTHONPATH", "PYTHONHOME")
_SECRET_NAME = re.compile(r"(passw|secret|token|api_?key|access_?key|credential|private_?key)", re.I)
_MAX_EXPONENT = 10_000  # far beyond any real quantity; keeps Decimal arithmetic in range
_QUANTITY_SUFFIX: dict[str, int | Decimal] = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def check_spec(spec: ModelSpec, doc: Document, config: RepoConfig, file_stem: str) -> list[Diagnostic]:
    """Rules on the model file itself, independent of environments."""
    errors: list[Diagnostic] = []
    if spec.name != file_stem:
        errors.append(
            doc.diagnostic(("name",), "MO201", f"name {spec.name!r} must match the file name "
                           f"{file_stem!r}.yaml: rename one of them")
        )
    if config.teams and spec.team not in config.teams:
        errors.append(
            doc.diagnostic(("team",), "MO202", f"team {spec.team!r} is not in modelops.yaml "
                           f"teams ({', '.join(sorted(config.teams))})")
        )
    for env in sorted(spec.environments or {}):
        if env not in config.environments:
            errors.append(
                doc.diagnostic(("environments", env), "MO203", f"unknown environment {env!r} "
                               f"(modelops.yaml defines {', '.join(sorted(config.environments))})",
                               key=True)
            )
    if spec.framework == "custom" and not spec.image:
        errors.append(doc.diagnostic(("framework",), "MO204", "framework custom needs `image`"))
    if spec.framework != "custom" and spec.image:
        errors.append(doc.diagnostic(("image",), "MO204", "`image` is only for framework custom; "
                                     "prepackaged servers bring their own"))
    if spec.protocol == "tensorflow" and spec.framework in NO_TENSORFLOW_PROTOCOL:
        errors.append(doc.diagnostic(("protocol",), "MO205", f"protocol tensorflow is not "
                                     f"supported by the {spec.framework} server: use v2 (or, on "
                                     "target kserve, `protocol: v1`, KServe's v1)"))
    if spec.framework == "triton" and spec.protocol not in ("v2", "kfserving"):
        errors.append(doc.diagnostic(("protocol",), "MO205", "Triton serves only protocol v2"))
    if spec.protocol == "v1" and spec.framework in NO_V1_PROTOCOL:
        errors.append(doc.diagnostic(("protocol",), "MO205", f"protocol v1 is not supported by the "
                                     f"{spec.framework} server (MLServer speaks v2): use v2"))
    if spec.autoupdate is not None:
        runs_in = sorted(spec.environments) if spec.environments is not None else sorted(config.environments)
        if spec.autoupdate.env not in runs_in:
            errors.append(doc.diagnostic(("autoupdate", "env"), "MO207", f"autoupdate.env "
                                         f"{spec.autoupdate.env!r} is not an environment this model runs "
                                         f"in ({', '.join(runs_in)})"))
    for env, override in sorted((spec.environments or {}).items()):
        errors += system_namespace(override.namespace, doc, ("environments", env, "namespace"), config)
    for node, graph_node in sorted((spec.graph.nodes if spec.graph else {}).items()):
        if graph_node.uri is not None:
            errors += uri_characters(graph_node.uri, "graph node URI", doc, ("graph", "nodes", node, "uri"))
        for key, value in sorted((graph_node.env or {}).items()):
            errors += loader_env(key, doc, ("graph", "nodes", node, "env", key), config)
            if find_secret(value, key) is None and not _SECRET_NAME.search(key):
                errors += generated_value(key, value, doc, ("graph", "nodes", node, "env", key), config)
    return errors


def generated_value(name: str, value: str, doc: Document, loc: Loc, config: RepoConfig) -> list[Diagnostic]:
    """MO261 when the value of env `name` looks like a generated credential (never shown)."""
    found = random_looking(value) if name not in config.policy.allow_high_entropy else None
    if found is None:
        return []
    length, bits = found
    return [doc.diagnostic(loc, "MO261", f"env {name} holds a random-looking run of {length} characters "
                           f"({bits:.1f} bits each), like a generated credential: store it in a Kubernetes "
                           f"Secret, or list {name} in policy.allow_high_entropy in modelops.yaml if it is "
                           "none")]


_NAMED = {" ": "a space", "\n": "a newline", "\r": "a carriage return", "\t": "a tab"}


def uri_characters(uri: str, what: str, doc: Document, loc: Loc) -> list[Diagnostic]:
    """MO232 for the first whitespace or control character of `uri` (it would split or end the URI in
    a log line, a YAML-reading tool, a Markdown table)."""
    at = next((i for i, c in enumerate(uri) if c.isspace() or not c.isprintable()), None)
    if at is None:
        return []
    char = uri[at]
    name = _NAMED.get(char, f"the character U+{ord(char):04X}")
    return [doc.diagnostic(loc, "MO232", f"{what} has {name} at character {at + 1}: a URI carries no "
                           "whitespace or control characters (percent-encode them, e.g. %20 for a space)")]


def loader_env(name: str, doc: Document, loc: Loc, config: RepoConfig) -> list[Diagnostic]:
    """MO407 when the variable `name` changes which code a server loads and policy does not allow it."""
    if not (name.startswith("LD_") or name in LOADER_ENV) or name in config.policy.allowed_env:
        return []
    return [doc.diagnostic(loc, "MO407", f"env {name} changes which code the model server loads (the "
                           "dynamic loader's LD_*, PATH, PYTHONPATH, PYTHONHOME): remove it, or list it "
                           "in policy.allowed_env in modelops.yaml", key=True)]


def system_namespace(namespace: str | None, doc: Document, loc: Loc, config: RepoConfig) -> list[Diagnostic]:
    """MO406 when `namespace` is one of Kubernetes' own and policy does not allow it."""
    if namespace not in SYSTEM_NAMESPACES or namespace in config.policy.allowed_system_namespaces:
        return []
    return [doc.diagnostic(loc, "MO406", f"namespace {namespace!r} is one of Kubernetes' own "
                           f"({', '.join(SYSTEM_NAMESPACES)}): deploy into a namespace of your own, or "
                           "list it in policy.allowed_system_namespaces in modelops.yaml")]


def check_config(config: RepoConfig, doc: Document) -> list[Diagnostic]:
    """Rules on modelops.yaml that span several of its keys."""
    errors = []
    for name, env in sorted(config.environments.items()):
        problem = env.flux_url_problem()
        if problem is not None:
            errors.append(doc.diagnostic(("environments", name, "gitops", "repo_url"), "MO100", problem))
        errors += system_namespace(env.namespace, doc, ("environments", name, "namespace"), config)
    for name, store in sorted(config.stores.items()):
        errors += uri_characters(store.uri, "store URI", doc, ("stores", name, "uri"))
    if config.collector is not None:
        errors += system_namespace(config.collector.namespace, doc, ("collector", "namespace"), config)
    return errors


def check_model(model: ResolvedModel, config: RepoConfig) -> list[Diagnostic]:
    """Rules on one model in one environment, after the override layers are merged."""
    errors = _check_traffic(model)
    for variant in model.variants:
        errors += _check_artifact(model, variant, config)
        errors += _check_scaling(model, variant, config)
        errors += _check_utilisation(model, variant)
        errors += _check_resources(model, variant)
        errors += _check_image(model, variant)
        errors += _check_env(model, variant, config)
    return errors


def _at(model: ResolvedModel, variant: ResolvedVariant, path: Loc, code: str, message: str) -> Diagnostic:
    doc, loc = variant.settings.origin(path)
    return (doc or model.doc).diagnostic(loc, code, message)


def _check_traffic(model: ResolvedModel) -> list[Diagnostic]:
    doc, loc = model.doc, model.traffic_loc
    errors: list[Diagnostic] = []
    shadows = [v for v in model.variants if v.shadow]
    serving = [v for v in model.variants if not v.shadow]
    for variant in shadows:
        if variant.weight is not None:
            errors.append(doc.diagnostic((*variant.loc, "weight"), "MO220",
                                         "a shadow variant takes no weight: it gets a copy of all traffic"))
    if len(shadows) > 1:
        errors.append(doc.diagnostic(shadows[1].loc, "MO221", "at most one shadow variant",
                                     key=True))
    if not serving:
        errors.append(doc.diagnostic(loc, "MO222", "a shadow cannot be the only variant: "
                                     "add a main variant"))
    elif len(serving) > 1:
        missing = [v for v in serving if v.weight is None]
        for variant in missing:
            errors.append(doc.diagnostic(variant.loc, "MO223", f"variant {variant.name!r} needs a "
                                         "weight when several variants share traffic", key=True))
        total = sum(v.weight or 0 for v in serving)
        if not missing and total != 100:
            errors.append(doc.diagnostic(loc, "MO224", f"variant weights sum to {total}, "
                                         "they must sum to 100", key=True))
    elif serving[0].weight not in (None, 100):
        errors.append(doc.diagnostic((*serving[0].loc, "weight"), "MO224", "a single serving "
                                     "variant takes all traffic: its weight must be 100 or unset"))
    return errors


def _check_artifact(model: ResolvedModel, variant: ResolvedVariant, config: RepoConfig) -> list[Diagnostic]:
    uri = variant.settings.get("artifact", "uri")
    if not uri:
        if model.spec.framework in NEEDS_NO_URI:
            return []
        return [_at(model, variant, ("artifact",), "MO230", f"variant {variant.name!r} has no "
                    f"artifact.uri: the {model.spec.framework} server needs the model's storage URI")]
    doc, loc = variant.settings.origin(("artifact", "uri"))
    refused = uri_characters(uri, "artifact URI", doc or model.doc, loc)
    if refused:
        return refused
    problem = uri_problem(uri, config)
    return [_at(model, variant, ("artifact", "uri"), "MO231", problem)] if problem else []


def uri_problem(uri: str, config: RepoConfig) -> str | None:
    """Why Seldon could not, or policy does not let it, read this artifact URI."""
    secret = find_secret(uri)
    if secret is not None:
        return (f"artifact URI carries {secret.describe()}: remove it and name a Secret in "
                "artifact.secret")
    scheme, sep, _ = uri.partition(":")
    if not sep or not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        return f"artifact URI {uri!r} is not a storage URI such as s3://bucket/path"
    if scheme in PINNED_SCHEMES:
        return PINNED_SCHEMES[scheme]
    allowed = config.policy.allowed_schemes
    if scheme not in allowed:
        return f"URI scheme {scheme!r} is not allowed by policy (allowed: {', '.join(allowed)})"
    buckets = config.policy.allowed_buckets
    if buckets and not any(uri.startswith(prefix) for prefix in buckets):
        return f"artifact URI {uri!r} is outside the allowed buckets ({', '.join(buckets)})"
    return None


def _check_scaling(model: ResolvedModel, variant: ResolvedVariant, config: RepoConfig) -> list[Diagnostic]:
    settings = variant.settings
    limit = config.policy.max_replicas
    errors: list[Diagnostic] = []
    replicas = settings.get("replicas")
    autoscaling = settings.get("autoscaling")
    if replicas is not None and limit is not None and replicas > limit:
        errors.append(_at(model, variant, ("replicas",), "MO240",
                          f"replicas {replicas} exceeds the policy maximum of {limit}"))
    if autoscaling is None:
        return errors
    if replicas is not None:
        errors.append(_at(model, variant, ("replicas",), "MO241", "replicas conflicts with "
                          "autoscaling (min and max decide): remove one of them"))
    low, high = autoscaling.get("min", 1), autoscaling.get("max")
    if high is None and not may_be_unbounded(model, variant):
        errors.append(_at(model, variant, ("autoscaling",), "MO242", "autoscaling needs `max` "
                          "(only kserve Serverless and seldon-v2 `native: true` scale without one)"))
    elif high is None and limit is not None:
        errors.append(_at(model, variant, ("autoscaling",), "MO240",
                          f"autoscaling without `max` is unbounded, over the policy maximum of {limit}: "
                          "set autoscaling.max, or policy.max_replicas: null in modelops.yaml"))
    elif high is None:
        pass
    elif low > high:
        errors.append(_at(model, variant, ("autoscaling", "min"), "MO243",
                          f"autoscaling.min ({low}) is greater than autoscaling.max ({high})"))
    elif limit is not None and high > limit:
        errors.append(_at(model, variant, ("autoscaling", "max"), "MO240",
                          f"autoscaling.max {high} exceeds the policy maximum of {limit}"))
    targets = [metric for metric in SCALE_METRICS if autoscaling.get(metric) is not None]
    if autoscaling.get("native") is True:
        errors += [_at(model, variant, ("autoscaling", metric), "MO246",
                       f"autoscaling.native scales on Seldon's inference lag: remove autoscaling.{metric} "
                       "(or native, for an HPA)") for metric in targets]
    elif not targets:
        errors.append(_at(model, variant, ("autoscaling",), "MO244",
                          "autoscaling needs a target: cpu, memory (percent) or rps "
                          "(or concurrency on kserve Serverless)"))
    if low == 0 and not scales_to_zero(model):
        errors.append(_at(model, variant, ("autoscaling", "min"), "MO248",
                          f"autoscaling.min 0 scales to zero, which only kserve Serverless (Knative) does, "
                          f"not target {model.target}"
                          + (" in Standard mode" if model.target == "kserve" else "")
                          + ": set min to 1 or more"))
    return errors


def scales_to_zero(model: ResolvedModel) -> bool:
    """Whether the model's platform can scale a predictor to zero replicas (Knative can)."""
    return model.target == "kserve" and model.env_config.kserve_mode == "Serverless"


def may_be_unbounded(model: ResolvedModel, variant: ResolvedVariant) -> bool:
    """Whether autoscaling may leave `max` out: Knative's and Seldon Core 2's own scaler take none."""
    native = variant.settings.get("autoscaling", "native") is True
    return scales_to_zero(model) or (model.target == "seldon-v2" and native)


def quantity_value(text: str) -> Decimal:
    """The numeric value of a Kubernetes quantity: binary (Ki..Ei) and decimal (m, k..E) suffixes
    and decimal exponents (`1e3`, `2.5E-1`); huge exponents give Infinity, not an error."""
    match = QUANTITY_RE.match(text)
    if not match:
        raise ValueError(text)
    sign = -1 if match.group(1) == "-" else 1
    suffix = match.group(6) or ""
    number = sign * Decimal(match.group(2))
    if suffix in _QUANTITY_SUFFIX:
        return number * _QUANTITY_SUFFIX[suffix]
    exponent = max(Decimal(-_MAX_EXPONENT), min(Decimal(_MAX_EXPONENT), Decimal(suffix[1:])))
    if exponent == exponent.to_integral_value():
        return number.scaleb(int(exponent))
    return number * Decimal(10) ** exponent


def _check_utilisation(model: ResolvedModel, variant: ResolvedVariant) -> list[Diagnostic]:
    """An HPA computes utilisation against the request (a limit alone defaults the request to it)."""
    settings = variant.settings
    return [
        _at(model, variant, ("autoscaling", resource), "MO245",
            f"autoscaling.{resource} is a percent of the {resource} request, and variant "
            f"{variant.name!r} requests no {resource}: set resources.requests.{resource}")
        for resource in ("cpu", "memory")
        if settings.get("autoscaling", resource) is not None
        and settings.get("resources", "requests", resource) is None
        and settings.get("resources", "limits", resource) is None
    ]


def _check_image(model: ResolvedModel, variant: ResolvedVariant) -> list[Diagnostic]:
    if variant.settings.get("image") is None or model.spec.framework == "custom":
        return []
    return [_at(model, variant, ("image",), "MO204", f"variant {variant.name!r} sets `image`, which is "
                "only for framework custom; prepackaged servers bring their own")]


# Kubernetes keeps quantities as int64 milli-units: anything larger cannot round-trip.
_QUANTITY_MAX = Decimal(2**63 - 1) / 1000


def _check_quantities(model: ResolvedModel, variant: ResolvedVariant) -> list[Diagnostic]:
    errors = []
    for section in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            text = variant.settings.get("resources", section, resource)
            if text is None:
                continue
            value = quantity_value(text)
            if value == 0 or value > _QUANTITY_MAX:
                what = "zero" if value == 0 else "beyond what Kubernetes can hold (int64 milli-units)"
                errors.append(_at(model, variant, ("resources", section, resource), "MO251",
                                  f"{resource} {section[:-1]} {text} is {what}: "
                                  "use a positive quantity such as 500m or 1Gi"))
    return errors


def _check_resources(model: ResolvedModel, variant: ResolvedVariant) -> list[Diagnostic]:
    requests = variant.settings.get("resources", "requests") or {}
    limits = variant.settings.get("resources", "limits") or {}
    errors = _check_quantities(model, variant)
    for resource in sorted(set(requests) & set(limits)):
        request, limit = requests[resource], limits[resource]
        if resource != "gpu":
            request, limit = quantity_value(request), quantity_value(limit)
        if request > limit:
            errors.append(_at(model, variant, ("resources", "requests", resource), "MO250",
                              f"{resource} request {requests[resource]} is above its limit "
                              f"{limits[resource]}"))
    return errors


def _check_env(model: ResolvedModel, variant: ResolvedVariant, config: RepoConfig) -> list[Diagnostic]:
    env: dict[str, Any] = variant.settings.get("env") or {}
    errors = []
    for key in sorted(env):
        doc, loc = variant.settings.origin(("env", key))
        errors += loader_env(key, doc or model.doc, loc, config)
        secret = find_secret(str(env[key]), key)
        if _SECRET_NAME.search(key) or secret is not None:
            what = f" ({secret.describe()})" if secret is not None else ""
            errors.append(_at(model, variant, ("env", key), "MO260",
                              f"env {key} looks like a credential{what}: store it in a Kubernetes Secret "
                              "and name it in artifact.secret, never in git"))
        else:
            errors += generated_value(key, str(env[key]), doc or model.doc, loc, config)
    return errors
