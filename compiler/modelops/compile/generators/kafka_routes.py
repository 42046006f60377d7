"""The Kafka topics an environment's collector consumes for one model, and what each holds.

Seldon Core 2 names a Model's topics `seldon.<namespace>.model.<Model>.inputs|outputs`; a Model name
is `<model>` or `<model>-<variant>`, and dashes are allowed in both, so the collector cannot read the
variant back from a topic: compile lists each topic with its model, variant and version (a ConfigMap
of the collector, `--kafka-models`). Seldon v1's Kafka logger writes one topic per model, its
messages naming the predictor (the variant) in their `endpoint` header: the route gives the versions.
"""

from __future__ import annotations

from modelops.compile.generators.payload_logging import sink
from modelops.compile.resolve import ResolvedModel
from modelops.compile.targets.common import version_of
from modelops.compile.targets.seldon_v2 import model_name

# (topic, model, variant or "" when the messages name it, the variant `version` is of, version)
Route = tuple[str, str, str, str, str]
CORE2_SIDES = ("inputs", "outputs")


def routes(model: ResolvedModel) -> list[Route]:
    """The topics the model's stored predictions arrive on, in its environment."""
    found = sink(model)
    if found is None or found.store is None:
        return []
    if model.target == "seldon-v2":
        return [(f"seldon.{model.namespace}.model.{model_name(model, v)}.{side}", model.spec.name, v.name,
                 v.name, version_of(v.settings, model.spec.image))
                for v in model.variants for side in CORE2_SIDES]
    if found.kafka_topic is not None:
        return [(found.kafka_topic, model.spec.name, "", v.name, version_of(v.settings, model.spec.image))
                for v in model.variants]
    return []


def topics_file(found: list[Route]) -> dict[str, object]:
    """The collector's `--kafka-models` JSON: `{"topics": {topic: {model, variant?, versions}}}`."""
    topics: dict[str, dict[str, object]] = {}
    for topic, model, variant, of, version in sorted(found):
        entry = topics.setdefault(topic, {"model": model, "versions": {}})
        if variant:
            entry["variant"] = variant
        versions = entry["versions"]
        assert isinstance(versions, dict)
        versions[of] = version
    return {"topics": topics}
