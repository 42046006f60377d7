"""Edit a model file in place for a promotion or a rollback, keeping comments, key order and style.

ruamel.yaml round-trips the file; only the lines that pin the artifact or change a weight differ.
Where the pin goes (the merge rule of `modelops.compile.resolve`):

- main: the main variant's `artifact` when the environment lists its own `traffic`, else
  `environments.<env>.artifact`;
- canary: a `canary` variant under `environments.<env>.traffic` with the weight, main gets 100 - weight;
- shadow: a `shadow: true` variant (the existing shadow, else one named `shadow`).

An artifact that sets `uri` drops the `mlflow` it would inherit, so the pin always writes both.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["main", "canary", "shadow"]


class EditError(Exception):
    """The file cannot be edited automatically; the message says why."""


@dataclass(frozen=True)
class Pin:
    uri: str
    model: str | None = None  # MLflow registered model name (None: no registry reference)
    version: int | None = None

    def label(self) -> str:
        return f"version {self.version}" if self.version is not None else self.uri


def _yaml(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    indent = indent or 2
    offset = block_seq_indent or 0
    yaml.indent(mapping=indent, sequence=indent + offset if offset else indent, offset=offset)
    yaml.explicit_start = text.lstrip().startswith("---")
    null = _null_style(text)
    yaml.representer.add_representer(
        type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", null)
    )
    return yaml


def _null_style(text: str) -> str:
    """How the file writes null (`null`, `~` or nothing), so untouched nulls stay as they are."""
    if re.search(r":[ \t]+null[ \t]*(#|$)", text, re.MULTILINE):
        return "null"
    if re.search(r":[ \t]+~[ \t]*(#|$)", text, re.MULTILINE):
        return "~"
    return ""


def _map(flow: bool = False) -> Any:
    from ruamel.yaml.comments import CommentedMap

    node = CommentedMap()
    if flow:
        node.fa.set_flow_style()
    return node


def _child(parent: Any, key: str) -> Any:
    """parent[key] as a mapping, created (block style) when missing or null."""
    node = parent.get(key)
    if node is None:
        node = _map()
        _set(parent, key, node)
    return node


def _set(node: Any, key: str, value: Any) -> None:
    """Set a key; a flow-style mapping that receives a nested mapping becomes block style."""
    if isinstance(value, dict) and getattr(node, "fa", None) is not None and node.fa.flow_style():
        node.fa.set_block_style()
    node[key] = value


def _pin(node: Any, pin: Pin) -> None:
    artifact = node.get("artifact")
    if artifact is None:
        artifact = _map()
        _set(node, "artifact", artifact)
    artifact["uri"] = pin.uri
    if pin.version is None:
        artifact.pop("mlflow", None)
        return
    mlflow = artifact.get("mlflow")
    if not isinstance(mlflow, dict):
        mlflow = _map(flow=True)
        artifact["mlflow"] = mlflow
    mlflow["model"] = pin.model
    mlflow["version"] = pin.version


def _same(variant: Any, pin: Pin) -> bool:
    artifact = (variant or {}).get("artifact") or {}
    mlflow = artifact.get("mlflow") or {}
    if pin.version is not None and mlflow.get("version") == pin.version:
        return mlflow.get("model") in (None, pin.model)
    return artifact.get("uri") == pin.uri


def main_name(traffic: dict[str, Any]) -> str:
    """`main`, else the non-shadow variant with the largest weight (as `compile.resolve` picks it)."""
    if "main" in traffic:
        return "main"
    def rank(name: str) -> tuple[bool, int]:
        variant = traffic[name] or {}
        return not variant.get("shadow"), variant.get("weight") or 0

    return max(traffic, key=rank)


def _environment(data: Any, env: str, all_envs: list[str]) -> Any:
    environments = data.get("environments")
    if environments is None:
        # The model runs in every environment: list them all so adding one does not drop the others.
        environments = _map()
        for name in all_envs:
            environments[name] = _map(flow=True)
        _set(data, "environments", environments)
    return _child(environments, env)


def _traffic(data: Any, env_node: Any) -> Any:
    """The environment's own traffic, copied from the model's top-level traffic when it has none."""
    traffic = env_node.get("traffic")
    if traffic is None:
        traffic = _map()
        for name, variant in (data.get("traffic") or {"main": None}).items():
            traffic[name] = copy.deepcopy(variant) if variant else _map(flow=True)
        _set(env_node, "traffic", traffic)
    for name in list(traffic):
        if traffic[name] is None:
            traffic[name] = _map(flow=True)
    return traffic


def _needs_traffic(data: Any, env_node: Any) -> bool:
    if env_node.get("traffic") is not None:
        return True
    top = data.get("traffic") or {}
    return bool(top) and (len(top) > 1 or any((v or {}).get("artifact") for v in top.values()))


def _serving(traffic: Any, skip: set[str]) -> list[str]:
    return [n for n, v in traffic.items() if n not in skip and not (v or {}).get("shadow")]


def _set_main(data: Any, env_node: Any, pin: Pin) -> None:
    if not _needs_traffic(data, env_node):
        _pin(env_node, pin)
        return
    traffic = _traffic(data, env_node)
    main = main_name(traffic)
    _pin(traffic[main], pin)
    for name in [n for n in traffic if n != main and _same(traffic[n], pin)]:
        del traffic[name]  # the canary or shadow of this version becomes main
    if not _serving(traffic, {main}):
        traffic[main].pop("weight", None)


def _set_canary(data: Any, env_node: Any, pin: Pin, weight: int) -> None:
    """The one serving variant besides main is the canary, whatever its name (else a new `canary`)."""
    traffic = _traffic(data, env_node)
    main = main_name(traffic)
    others = _serving(traffic, {main})
    if len(others) > 1:
        raise EditError(f"the environment splits traffic between {', '.join([main, *others])}: "
                        "a canary needs main and one other serving variant (edit the weights by hand)")
    name = others[0] if others else "canary"
    if name == main:
        raise EditError("the main variant is named `canary`: rename it to `main` first")
    if name in traffic and (traffic[name] or {}).get("shadow"):
        raise EditError(f"the variant {name!r} is a shadow: a canary needs another name")
    traffic[main]["weight"] = 100 - weight
    canary = _variant(traffic, name)
    canary["weight"] = weight
    _pin(canary, pin)


def _variant(traffic: Any, name: str) -> Any:
    """The variant `name` of `traffic`, added empty when the file has none."""
    if traffic.get(name) is None:
        traffic[name] = _map()
    return traffic[name]


def _set_shadow(data: Any, env_node: Any, pin: Pin) -> None:
    traffic = _traffic(data, env_node)
    shadows = [n for n, v in traffic.items() if (v or {}).get("shadow")]
    variant = _variant(traffic, shadows[0] if shadows else "shadow")
    variant["shadow"] = True
    _pin(variant, pin)


def pin_text(text: str, env: str, all_envs: list[str], pin: Pin, role: Role,
             weight: int | None = None) -> str:
    """The model file with `pin` deployed as `role` in `env`."""
    yaml = _yaml(text)
    data = yaml.load(text)
    if not isinstance(data, dict):
        raise EditError("the model file is not a mapping")
    env_node = _environment(data, env, all_envs)
    if role == "main":
        _set_main(data, env_node, pin)
    elif role == "canary":
        if weight is None:
            raise EditError("a canary needs --traffic")
        _set_canary(data, env_node, pin, weight)
    else:
        _set_shadow(data, env_node, pin)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def trials(text: str, env: str) -> list[str]:
    """The canary and shadow variants `env` runs besides main, as the file lists them."""
    data = _yaml(text).load(text)
    env_node = ((data or {}).get("environments") or {}).get(env) or {}
    traffic = env_node.get("traffic") or (data or {}).get("traffic") or {}
    return [] if len(traffic) < 2 else [name for name in traffic if name != main_name(traffic)]


def abort_text(text: str, env: str, all_envs: list[str]) -> str:
    """The model file with `env`'s canary and shadow variants removed; main keeps its artifact and
    takes all the traffic."""
    yaml = _yaml(text)
    data = yaml.load(text)
    if not isinstance(data, dict):
        raise EditError("the model file is not a mapping")
    env_node = _environment(data, env, all_envs)
    traffic = _traffic(data, env_node)
    main = main_name(traffic)
    for name in [n for n in traffic if n != main]:
        del traffic[name]
    traffic[main].pop("weight", None)
    if not traffic[main] and not data.get("traffic"):
        del env_node["traffic"]  # the trial brought the traffic block: main alone needs none
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
