"""The prediction collector of an environment: one per store its models save predictions to.

`generated/<env>/<namespace>/modelops-collector-<store>.yaml` holds a Deployment running
`modelops collect` (the repository's image), its Service (what the loggers post to), a
ServiceMonitor for its `/metrics`, an HPA on CPU and a PodDisruptionBudget. The store's credentials
come from the Secret the store names, never from git. The spool is an emptyDir: it survives a
container restart, not the loss of the pod (the collector drains it on SIGTERM).
"""

from __future__ import annotations

from typing import Any

from modelops.compile.generators.payload_logging import COLLECTOR_PORT, collector_name
from modelops.compile.resolve import Merged
from modelops.compile.spec import Collector, RepoConfig, Store
from modelops.compile.targets.common import resource_requirements
from modelops.labels import LABEL_ENV, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, LABEL_PART_OF, MANAGED_BY

SPOOL = "/var/spool/modelops"
DEFAULT_RESOURCES = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}


def collector_files(config: RepoConfig, used: dict[str, set[str]]) -> dict[str, list[dict[str, Any]]]:
    """`<env>/<namespace>/<name>.yaml` -> objects, for every store an environment's models use."""
    collector = config.collector
    if collector is None:
        return {}
    found = {}
    for env in sorted(used):
        namespace = collector.namespace or config.environments[env].namespace
        for store in sorted(used[env]):
            name = collector_name(store)
            found[f"{env}/{namespace}/{name}.yaml"] = objects(
                env, namespace, store, config.stores[store], collector)
    return found


def _labels(env: str, name: str) -> dict[str, str]:
    return {LABEL_NAME: name, LABEL_INSTANCE: f"{name}-{env}", LABEL_PART_OF: MANAGED_BY,
            LABEL_MANAGED_BY: MANAGED_BY, LABEL_ENV: env}


def objects(env: str, namespace: str, store_name: str, store: Store,
            collector: Collector) -> list[dict[str, Any]]:
    name = collector_name(store_name)
    labels = _labels(env, name)
    selector = {LABEL_NAME: name, LABEL_INSTANCE: labels[LABEL_INSTANCE]}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    return [
        _deployment(meta, selector, env, store, collector),
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


def _resources(collector: Collector) -> dict[str, Any]:
    if collector.resources is None:
        return DEFAULT_RESOURCES
    written = Merged(data={"resources": collector.resources.model_dump(exclude_none=True)})
    return resource_requirements(written) or DEFAULT_RESOURCES
