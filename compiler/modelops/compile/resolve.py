"""Merge the override layers into one set of settings per model, environment and variant.

The merge rule, lowest layer first:

    modelops.yaml `defaults`  <  modelops.yaml `environments.<env>.defaults`
      <  the model's top-level settings  <  the model's `environments.<env>`  <  the variant

Mappings merge key by key at every depth; scalars and lists replace; a key set to `null` removes
what lower layers set. Two exceptions: `traffic` is never merged (the most specific layer that
writes it replaces it whole), and an `artifact` that sets `uri` does not inherit `mlflow` (the
pinned registry version describes exactly one URI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelops.compile.source import Document, Loc
from modelops.compile.spec import (
    Collector,
    EnvironmentConfig,
    ModelSpec,
    RepoConfig,
    Settings,
    Store,
    Traffic,
    Variant,
)

_SETTINGS_KEYS = tuple(Settings.model_fields)
_VARIANT_KEYS = ("artifact", "resources", "replicas", "image", "model_name")


@dataclass(frozen=True)
class Layer:
    """One source of settings: its data (only keys the user wrote) and where it is written."""

    data: dict[str, Any]
    doc: Document | None
    loc: Loc


@dataclass
class Merged:
    """Merged settings plus, for every key path, the layer position that set it last."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Loc, tuple[Document | None, Loc]] = field(default_factory=dict)

    def origin(self, path: Loc) -> tuple[Document | None, Loc]:
        path = tuple(path)
        while path:
            if path in self.origins:
                return self.origins[path]
            path = path[:-1]
        return self.origins.get((), (None, ()))

    def get(self, *path: str) -> Any:
        node: Any = self.data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node


def merge_layers(layers: list[Layer]) -> Merged:
    merged = Merged()
    for layer in layers:
        if layer.doc is not None or () not in merged.origins:
            merged.origins[()] = (layer.doc, layer.loc)
        _merge_into(merged, merged.data, layer.data, (), layer)
    return merged


def _merge_into(
    merged: Merged, target: dict[str, Any], source: dict[str, Any], path: Loc, layer: Layer
) -> None:
    for key, value in source.items():
        here = (*path, key)
        merged.origins[here] = (layer.doc, (*layer.loc, *here))
        if value is None:
            target.pop(key, None)
            continue
        if key == "artifact" and path == () and "uri" in value and "mlflow" not in value:
            inherited = target.get("artifact")
            if isinstance(inherited, dict):
                inherited.pop("mlflow", None)
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(merged, target[key], value, here, layer)
        elif isinstance(value, dict):
            target[key] = {}
            _merge_into(merged, target[key], value, here, layer)
        else:
            target[key] = value


@dataclass(frozen=True)
class ResolvedVariant:
    name: str
    weight: int | None
    shadow: bool
    settings: Merged
    loc: Loc  # where the variant is written (in `traffic_doc`)


@dataclass(frozen=True)
class ResolvedModel:
    """A model as deployed to one environment."""

    spec: ModelSpec
    doc: Document
    env: str
    env_config: EnvironmentConfig
    namespace: str
    variants: list[ResolvedVariant]
    traffic_loc: Loc
    settings: Merged  # the environment-level settings, before variant overrides
    target: str = "seldon-v1"  # effective target: env override > model > modelops.yaml
    stores: dict[str, Store] = field(default_factory=dict)  # modelops.yaml's prediction stores
    collector: Collector | None = None  # and the collector that writes them

    @property
    def main(self) -> ResolvedVariant:
        """The variant named `main`, else the non-shadow variant with the largest weight."""
        by_name = {v.name: v for v in self.variants}
        if "main" in by_name:
            return by_name["main"]
        return max(self.variants, key=lambda v: (not v.shadow, v.weight or 0))


def _written(model: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    dumped = model.model_dump(exclude_unset=True, mode="json")
    return {k: dumped[k] for k in keys if k in dumped}


def collector_for(config: RepoConfig, env: str) -> Collector | None:
    """modelops.yaml's collector as `env` runs it: the environment's own Kafka, when it names one."""
    collector, kafka = config.collector, config.environments[env].kafka
    if collector is None or kafka is None:
        return collector
    return collector.model_copy(update={"kafka": kafka})


def environments_of(spec: ModelSpec, config: RepoConfig) -> list[str]:
    """The environments a model runs in: those it lists, else every configured one."""
    if spec.environments is None:
        return sorted(config.environments)
    return [env for env in sorted(spec.environments) if env in config.environments]


def resolve(
    spec: ModelSpec, doc: Document, config: RepoConfig, config_doc: Document | None
) -> list[ResolvedModel]:
    return [_resolve_env(spec, doc, config, config_doc, env) for env in environments_of(spec, config)]


def _resolve_env(
    spec: ModelSpec, doc: Document, config: RepoConfig, config_doc: Document | None, env: str
) -> ResolvedModel:
    env_config = config.environments[env]
    override = (spec.environments or {}).get(env)
    layers = [
        Layer(_written(config.defaults, _SETTINGS_KEYS), config_doc, ("defaults",)),
        Layer(
            _written(env_config.defaults, _SETTINGS_KEYS),
            config_doc,
            ("environments", env, "defaults"),
        ),
        Layer(_written(spec, _SETTINGS_KEYS), doc, ()),
    ]
    if override is not None:
        layers.append(Layer(_written(override, _SETTINGS_KEYS), doc, ("environments", env)))
    traffic, traffic_loc = _traffic(spec, override, env)
    env_layers = list(layers)
    variants = []
    for name, variant in traffic.items():
        own = Layer(_written(variant, _VARIANT_KEYS), doc, (*traffic_loc, name))
        variants.append(
            ResolvedVariant(
                name=name,
                weight=variant.weight,
                shadow=variant.shadow,
                settings=merge_layers([*env_layers, own]),
                loc=(*traffic_loc, name),
            )
        )
    namespace = (override.namespace if override and override.namespace else None) or env_config.namespace
    return ResolvedModel(
        spec=spec,
        doc=doc,
        env=env,
        env_config=env_config,
        namespace=namespace,
        variants=variants,
        traffic_loc=traffic_loc,
        settings=merge_layers(env_layers),
        target=(override.target if override else None) or spec.target or env_config.target,
        stores=config.stores,
        collector=collector_for(config, env),
    )


def _traffic(spec: ModelSpec, override: Any, env: str) -> tuple[Traffic, Loc]:
    if override is not None and override.traffic is not None:
        return override.traffic, ("environments", env, "traffic")
    if spec.traffic is not None:
        return spec.traffic, ("traffic",)
    return {"main": Variant()}, ("traffic",)
