"""Storing predictions: the collector each environment gets, and every target's logger pointed at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from support import prediction_store
from support.expressivity import compile_models, messages, objects, one
from support.generated_files import documents

BROKER = "seldon-kafka-bootstrap.seldon-mesh:9092"


def config(target: str, kafka: str | None = None) -> str:
    collector: dict[str, Any] = {"image": "registry.example/modelops:0.4.0", "replicas": 2}
    if kafka:
        collector["kafka"] = {"broker": kafka}
    return yaml.safe_dump({
        "environments": {"staging": {"namespace": "models-staging", "target": target}},
        "teams": {"risk": {"reviewers": ["@acme/risk-ds"]}},
        "policy": {"allowed_schemes": ["s3"]},
        "stores": {"default": {"uri": "s3://acme-predictions/", "secret": "predictions-s3"}},
        "collector": collector,
    }, sort_keys=False)


MODEL = prediction_store.model("{task: classification, gates: {agreement: 0.95}}")

COLLECTOR_FILE = "staging/models-staging/modelops-collector-default.yaml"


def _query(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.path) == (
        "modelops-collector-default.models-staging.svc.cluster.local", 8080, "/v1/events")
    return {key: values[0] for key, values in parse_qs(parts.query).items()}


def test_seldon_v1_main_and_shadow_post_to_the_collector_naming_their_variant(tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("seldon-v1"), {"iris": MODEL})
    assert messages(result) == []
    predictors = one(result, "iris", "SeldonDeployment")["spec"]["predictors"]
    loggers = {p["name"]: p["graph"]["logger"] for p in predictors}
    assert {name: logger["mode"] for name, logger in loggers.items()} == {"main": "all", "shadow": "all"}
    assert _query(loggers["main"]["url"]) == {"model": "iris", "variant": "main", "version": "sha-f1f1318d8d"}
    assert _query(loggers["shadow"]["url"])["variant"] == "shadow"


def test_the_environment_gets_one_collector_per_store_with_its_secret_by_reference(tmp_path: Path) -> None:
    models = {"iris": MODEL, "wine": MODEL.replace("name: iris", "name: wine").replace("iris/", "wine/")}
    result = compile_models(tmp_path, config("seldon-v1"), models)
    assert messages(result) == []
    objects = documents(result.files[COLLECTOR_FILE])
    assert [o["kind"] for o in objects] == [
        "Deployment", "Service", "ServiceMonitor", "HorizontalPodAutoscaler", "PodDisruptionBudget"]
    container = objects[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/modelops:0.4.0"
    assert container["args"][:4] == ["--store", "s3://acme-predictions/", "--environment", "staging"]
    assert container["envFrom"] == [{"secretRef": {"name": "predictions-s3"}}]
    assert objects[3]["spec"]["minReplicas"] == 2
    assert "modelops-collector-default.yaml" in result.files["staging/kustomization.yaml"]
    assert "&id" not in result.files[COLLECTOR_FILE]  # its labels written out, not as a YAML anchor


def test_the_collector_pod_fits_the_image_the_dockerfile_builds(tmp_path: Path) -> None:
    dockerfile = (Path(__file__).parents[3] / "Dockerfile").read_text()
    result = compile_models(tmp_path, config("seldon-v1"), {"iris": MODEL})
    pod = documents(result.files[COLLECTOR_FILE])[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["modelops", "collect"]
    assert 'ENTRYPOINT ["modelops"]' in dockerfile and "[collector,kafka,compare]" in dockerfile
    assert f"USER {container['securityContext']['runAsUser']}" in dockerfile
    spool = container["volumeMounts"][0]["mountPath"]
    assert f"VOLUME {spool}" in dockerfile
    assert container["args"][container["args"].index("--spool") + 1] == spool
    assert f"EXPOSE {container['ports'][0]['containerPort']}" in dockerfile
    assert container["securityContext"]["readOnlyRootFilesystem"] is True  # the spool alone is writable


def test_kserve_logs_to_the_collector_with_the_request_id_header(tmp_path: Path) -> None:
    model = MODEL.split("traffic:")[0]
    result = compile_models(tmp_path, config("kserve"), {"iris": model})
    assert messages(result) == []
    logger: dict[str, Any] = one(result, "iris", "InferenceService")["spec"]["predictor"]["logger"]
    assert logger["metadataHeaders"] == ["X-Request-Id"]
    assert _query(logger["url"])["variant"] == "main"


def test_no_store_no_collector(tmp_path: Path) -> None:
    model = MODEL.replace("logging: {mode: all, store: default}\n", "").split("compare:")[0]
    result = compile_models(tmp_path, config("seldon-v1"), {"iris": model})
    assert messages(result) == [] and COLLECTOR_FILE not in result.files


def _panel_titles(result: Any) -> list[str]:
    import json

    [board] = [d for d in documents(result.files["staging/observability.yaml"]) if d["kind"] == "ConfigMap"]
    return [p["title"] for p in json.loads(next(iter(board["data"].values())))["panels"]]


def test_the_dashboard_gains_a_predictions_row_where_a_model_stores_them(tmp_path: Path) -> None:
    stored = _panel_titles(compile_models(tmp_path / "a", config("seldon-v1"), {"iris": MODEL}))
    assert stored[stored.index("Predictions"):] == [
        "Predictions", "Stored answers per second", "Predicted classes (share of answers)", "Mean output",
        "Agreement with the other variant"]
    model = MODEL.replace("logging: {mode: all, store: default}\n", "").split("compare:")[0]
    plain = _panel_titles(compile_models(tmp_path / "b", config("seldon-v1"), {"iris": model}))
    assert "Predictions" not in plain and plain == stored[:stored.index("Predictions")]


def test_store_mistakes_are_one_line_each(tmp_path: Path) -> None:
    cases = {
        "a": MODEL.replace("store: default", "store: defualt"),
        "b": MODEL.replace("mode: all, store: default", "mode: request, store: default"),
        "c": MODEL.replace("store: default", "store: default, url: http://sink"),
        "d": MODEL.replace("logging: {mode: all, store: default}\n", ""),
    }
    found = []
    for name, text in cases.items():
        result = compile_models(tmp_path / name, config("seldon-v1"), {"iris": text})
        found += [m.split(": ", 1)[1] for m in messages(result)]
    assert found == [
        "MO800 logging.store 'defualt' is no store of modelops.yaml (stores: default)",
        "MO801 logging.mode request stores no predictions: use response or all with a store",
        "MO801 logging sets both store and url: the collector is the sink of a store (`url: null` drops "
        "an inherited one)",
        "MO802 compare needs the predictions stored: set logging: {mode: all, store: <a store of "
        "modelops.yaml>}",
    ]


def _kafka(result: Any) -> tuple[list[str], dict[str, Any]]:
    """The collector's arguments and its --kafka-models topics file."""
    import json

    objects = documents(result.files[COLLECTOR_FILE])
    assert [o["kind"] for o in objects][:2] == ["ConfigMap", "Deployment"]
    pod = objects[1]["spec"]["template"]
    assert pod["metadata"]["annotations"]["modelops.io/kafka-models-hash"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["kafka"]["configMap"]["name"] == objects[0]["metadata"]["name"]
    assert objects[0]["metadata"]["name"] == "modelops-collector-default-kafka"
    return pod["spec"]["containers"][0]["args"], json.loads(objects[0]["data"]["models.json"])


CORE2 = MODEL.replace("framework: sklearn\n", "framework: sklearn\nprotocol: v2\n")


def test_core2_stores_through_one_step_pipelines_and_a_pipeline_mirror(tmp_path: Path) -> None:
    from modelops.compile.targets import seldon_v2

    result = compile_models(tmp_path, config("seldon-v2", BROKER), {"iris": CORE2})
    assert messages(result) == []  # every object valid against the bundled CRD schemas (else MO900)
    pipelines = {p["metadata"]["name"]: p["spec"] for p in objects(result, "iris", "Pipeline")}
    assert set(pipelines) == {"iris-pipeline", "iris-shadow-pipeline"}
    assert pipelines["iris-shadow-pipeline"] == {"steps": [{"name": "iris-shadow"}],
                                                 "output": {"steps": ["iris-shadow"]}}
    experiment = one(result, "iris", "Experiment")["spec"]
    assert experiment == {"default": "iris-pipeline", "resourceType": "pipeline",
                          "candidates": [{"name": "iris-pipeline", "weight": 100}],
                          "mirror": {"name": "iris-shadow-pipeline", "percent": 100}}
    args, models = _kafka(result)
    assert args[args.index("--kafka-broker") + 1] == BROKER
    assert args[args.index("--kafka-group") + 1] == "modelops-collector-default-staging"
    shadow = models["topics"]["seldon.models-staging.model.iris-shadow.outputs"]
    assert (shadow["model"], shadow["variant"], list(shadow["versions"])) == ("iris", "shadow", ["shadow"])
    assert sorted(models["topics"]) == sorted(f"seldon.models-staging.model.{m}.{side}" for m in
                                              ("iris", "iris-shadow") for side in ("inputs", "outputs"))
    described = seldon_v2.describe(documents(result.files["staging/models-staging/iris.yaml"]))
    roles = {v.name: (v.role, v.mirror, v.logging) for v in described.variants}
    assert roles == {"main": ("main", None, "all, stored: clients call pipeline iris-pipeline"),
                     "shadow": ("shadow", 100, "all, stored: clients call pipeline iris-shadow-pipeline")}
    assert ("Pipeline", "iris-pipeline") in described.described


def test_the_kafka_secret_reaches_the_collector_by_reference(tmp_path: Path) -> None:
    text = config("seldon-v2", BROKER).replace(f"broker: {BROKER}",
                                               f"broker: {BROKER}\n    secret: kafka-sasl")
    result = compile_models(tmp_path, text, {"iris": CORE2})
    assert messages(result) == []
    container = documents(result.files[COLLECTOR_FILE])[1]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "predictions-s3"}},
                                    {"secretRef": {"name": "kafka-sasl"}}]


def test_core2_storing_without_the_collectors_broker_is_one_line(tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("seldon-v2"), {"iris": CORE2})
    assert [m.split(": ", 1)[1] for m in messages(result)] == [
        "MO804 seldon-v2 writes predictions to Kafka: the collector needs the broker, set "
        "collector.kafka.broker (host:port of Core 2's Kafka), or environments.staging.kafka.broker "
        "for this environment alone, in modelops.yaml"]


def test_each_environment_may_name_its_own_kafka(tmp_path: Path) -> None:
    """Staging and production run on clusters with their own Core 2 and Kafka: each environment's
    collector consumes its own, and a Seldon v1 executor logs to its own environment's."""
    data = yaml.safe_load(config("seldon-v2", BROKER))
    data["environments"]["production"] = {"namespace": "models", "target": "seldon-v2",
                                          "kafka": {"broker": "kafka.prod:9092", "secret": "prod-kafka"}}
    result = compile_models(tmp_path, yaml.safe_dump(data), {"iris": CORE2})
    assert messages(result) == []
    for env, namespace, broker in (("staging", "models-staging", BROKER),
                                   ("production", "models", "kafka.prod:9092")):
        objects = documents(result.files[f"{env}/{namespace}/modelops-collector-default.yaml"])
        container = objects[1]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][container["args"].index("--kafka-broker") + 1] == broker
        secrets = [source["secretRef"]["name"] for source in container.get("envFrom", [])]
        assert ("prod-kafka" in secrets) == (env == "production")
    data["environments"]["staging"]["target"] = data["environments"]["production"]["target"] = "seldon-v1"
    result = compile_models(tmp_path / "v1", yaml.safe_dump(data), {"iris": V1_KAFKA})
    assert messages(result) == []
    for env, namespace, broker in (("staging", "models-staging", BROKER),
                                   ("production", "models", "kafka.prod:9092")):
        deployment = documents(result.files[f"{env}/{namespace}/iris.yaml"])[0]
        assert deployment["kind"] == "SeldonDeployment"
        for predictor in deployment["spec"]["predictors"]:
            assert {"name": "LOGGER_KAFKA_BROKER", "value": broker} in predictor["svcOrchSpec"]["env"]


V1_KAFKA = MODEL.replace("logging: {mode: all, store: default}",
                         "logging: {mode: all, store: default, kafka: {}}")


def test_seldon_v1_logs_to_kafka_and_the_collector_consumes_the_topic(tmp_path: Path) -> None:
    result = compile_models(tmp_path, config("seldon-v1", BROKER), {"iris": V1_KAFKA})
    assert messages(result) == []
    predictors = one(result, "iris", "SeldonDeployment")["spec"]["predictors"]
    for predictor in predictors:
        assert predictor["svcOrchSpec"]["env"] == [
            {"name": "LOGGER_KAFKA_BROKER", "value": BROKER},
            {"name": "LOGGER_KAFKA_TOPIC", "value": "modelops.staging.iris"}]
        assert "url" not in predictor["graph"]["logger"]
    args, models = _kafka(result)
    assert args[args.index("--kafka-broker") + 1] == BROKER
    route = models["topics"]["modelops.staging.iris"]
    assert route["model"] == "iris" and "variant" not in route
    assert set(route["versions"]) == {"main", "shadow"}


def test_seldon_v1_kafka_store_mistakes_are_one_line_each(tmp_path: Path) -> None:
    other = V1_KAFKA.replace("kafka: {}", "kafka: {broker: 'other:9092'}")
    found = []
    for name, broker, text in (("a", None, V1_KAFKA), ("b", BROKER, other)):
        result = compile_models(tmp_path / name, config("seldon-v1", broker), {"iris": text})
        found += [m.split(": ", 1)[1] for m in messages(result)]
    assert found == [
        "MO804 logging.kafka with a store: the collector consumes the topic, set collector.kafka.broker "
        "(or environments.staging.kafka.broker) in modelops.yaml (the executor then logs there)",
        f"MO804 logging.kafka.broker 'other:9092' is not the collector's broker {BROKER!r}: remove it (the "
        "executor logs to the collector's)"]


def test_a_stored_variants_pipeline_counts_in_the_name_budget(tmp_path: Path) -> None:
    name = "a" * 50  # the shadow's Model `<name>-shadow` fits in 63 characters, its Pipeline does not
    text = CORE2.replace("name: iris", f"name: {name}").replace("iris/", f"{name}/")
    result = compile_models(tmp_path, config("seldon-v2", BROKER), {name: text})
    assert [m.split(": ", 1)[1] for m in messages(result)] == [
        f"MO210 Pipeline of variant 'shadow' name '{name}-shadow-pipeline' is 66 characters, 3 over "
        "Kubernetes' 63: shorten the model or variant name"]
