"""The prediction collector of an environment: one per store its models save predictions to.

`generated/<env>/<namespace>/modelops-collector-<store>.yaml` holds a Deployment running
`modelops collect` (the repository's image), its Service (what the loggers post to), a
ServiceMonitor for its `/metrics`, an HPA on CPU and a PodDisruptionBudget. The store's credentials
come from the Secret the store names, never from git. When models' predictions arrive on Kafka
(Seldon Core 2, Seldon v1's Kafka logger), a ConfigMap `<name>-kafka` lists the topics with their
model, variant and version; the collector consumes them from `collector.kafka.broker` as the
consumer group `<name>-<env>` (the pod template carries the list's hash: a change rolls the pods).
The spool is an emptyDir: it survives a container restart, not the loss of the pod (the collector
drains it on SIGTERM).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from modelops.compile.emit.block_yaml import Literal
from modelops.compile.generators.kafka_routes import Route, topics_file
from modelops.compile.generators.payload_logging import COLLECTOR_PORT, collector_name
from modelops.compile.resolve import Merged, collector_for
from modelops.compile.spec import Collector, RepoConfig, Store
from modelops.compile.targets.common import resource_requirements
from modelops.labels import (
    ANNOTATION_KAFKA_MODELS,
    LABEL_ENV,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_PART_OF,
    MANAGED_BY,
)

SPOOL = "/var/spool/modelops"
KAFKA_MOUNT = "/etc/modelops/kafka"
KAFKA_MODELS_FILE = "models.json"
DEFAULT_RESOURCES = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}


def collector_files(config: RepoConfig, used: dict[str, dict[str, list[Route]]]
                    ) -> dict[str, list[dict[str, Any]]]:
    """`<env>/<namespace>/<name>.yaml` -> objects, for every store an environment's models use (with
    the Kafka topics their predictions arrive on)."""
    found = {}
    for env in sorted(used):
        collector = collector_for(config, env)
        if collector is None:
            return {}
        namespace = collector.namespace or config.environments[env].namespace
        for store in sorted(used[env]):
            name = collector_name(store)
            found[f"{env}/{namespace}/{name}.yaml"] = objects(
                env, namespace, store, config.stores[store], collector, used[env][store])
    return found


def _labels(env: str, name: str) -> dict[str, str]:
    return {LABEL_NAME: name, LABEL_INSTANCE: f"{name}-{env}", LABEL_PART_OF: MANAGED_BY,
            LABEL_MANAGED_BY: MANAGED_BY, LABEL_ENV: env}


def objects(env: str, namespace: str, store_name: str, store: Store, collector: Collector,
            topics: list[Route] | None = None) -> list[dict[str, Any]]:
    name = collector_name(store_name)
    labels = _labels(env, name)
    selector = {LABEL_NAME: name, LABEL_INSTANCE: labels[LABEL_INSTANCE]}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    kafka = _kafka_config_map(meta, topics) if topics and collector.kafka is not None else None
    deployment = _deployment(meta, selector, env, store, collector)
    if kafka is not None:
        _consume_kafka(deployment, kafka, f"{name}-{env}", collector)
    return [
        *([kafka] if kafka is not None else []),
        deployment,
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": selector,
                  "ports": [{"name": "http", "port": COLLECTOR_PORT, "targetPort": "http",
                             "protocol": "TCP"}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta,
         "spec": {"selector": {"matchLabels": selector}, "namespaceSelector": {"matchNames": [namespace]},
                  "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta,
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                  "minReplicas": collector.replicas,
                  "maxReplicas": max(collector.replicas, collector.max_replicas),
                  "metrics": [{"type": "Resource", "resource": {
                      "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
         "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}}},
    ]


def _deployment(meta: dict[str, Any], selector: dict[str, str], env: str, store: Store,
                collector: Collector) -> dict[str, Any]:
    args = ["--store", store.uri, "--environment", env, "--spool", SPOOL, "--port", str(COLLECTOR_PORT)]
    container: dict[str, Any] = {
        "name": "collector",
        "image": collector.image,
        "command": ["modelops", "collect"],  # the project's image (Dockerfile) has modelops on PATH
        "args": args,
        "ports": [{"name": "http", "containerPort": COLLECTOR_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "resources": _resources(collector),
        "volumeMounts": [{"name": "spool", "mountPath": SPOOL}],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
    }
    if store.endpoint:
        container["env"] = [{"name": "AWS_ENDPOINT_URL", "value": store.endpoint}]
    if store.secret:
        container["envFrom"] = [{"secretRef": {"name": store.secret}}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {  # no replicas: the HPA owns them
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": meta["labels"]},
                "spec": {
                    "terminationGracePeriodSeconds": 60,  # time to drain the spool on SIGTERM
                    "containers": [container],
                    "volumes": [{"name": "spool", "emptyDir": {"sizeLimit": "1Gi"}}],
                },
            },
        },
    }


def _kafka_config_map(meta: dict[str, Any], topics: list[Route]) -> dict[str, Any]:
    text = json.dumps(topics_file(topics), indent=2, sort_keys=True) + "\n"
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {**meta, "name": f"{meta['name']}-kafka"}, "data": {KAFKA_MODELS_FILE: Literal(text)}}


def _consume_kafka(deployment: dict[str, Any], config_map: dict[str, Any], group: str,
                   collector: Collector) -> None:
    """Point the collector at the Kafka topics of the ConfigMap, mounted read-only."""
    assert collector.kafka is not None
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    container["args"] += ["--kafka-broker", collector.kafka.broker, "--kafka-group", group,
                          "--kafka-models", f"{KAFKA_MOUNT}/{KAFKA_MODELS_FILE}"]
    container["volumeMounts"].append({"name": "kafka", "mountPath": KAFKA_MOUNT, "readOnly": True})
    pod["spec"]["volumes"].append({"name": "kafka", "configMap": {"name": config_map["metadata"]["name"]}})
    digest = hashlib.sha256(config_map["data"][KAFKA_MODELS_FILE].encode()).hexdigest()[:16]
    pod["metadata"]["annotations"] = {ANNOTATION_KAFKA_MODELS: digest}
    if collector.kafka.secret:
        container.setdefault("envFrom", []).append({"secretRef": {"name": collector.kafka.secret}})


def _resources(collector: Collector) -> dict[str, Any]:
    if collector.resources is None:
        return DEFAULT_RESOURCES
    written = Merged(data={"resources": collector.resources.model_dump(exclude_none=True)})
    return resource_requirements(written) or DEFAULT_RESOURCES
