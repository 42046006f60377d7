"""The label and annotation keys modelops puts on the objects it emits, and reads back.

One definition each, for the renderers, review, prune and the GitOps objects. Imports nothing, so the
CLI's light commands (`modelops --help`, sync's prune decision) can use it without loading the compiler.
"""

from __future__ import annotations

# Kubernetes' recommended labels (app.kubernetes.io/*)
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "modelops"  # the value of managed-by and part-of on every object modelops emits

# modelops' own labels; managed-by and environment together mark the objects `sync --prune` may delete
LABEL_ENV = "modelops.io/environment"
LABEL_TEAM = "modelops.io/team"
LABEL_VERSION = "modelops.io/version"  # the pinned MLflow version, else sha-<hash of the artifact URI>
LABEL_VARIANT = "modelops.io/variant"
LABEL_METRICS = "modelops.io/metrics"  # on Seldon Core v1's metrics Service, for its ServiceMonitor

ANNOTATION_SOURCE = "modelops.io/source"  # the model file an object was compiled from
ANNOTATION_ROLLED_OUT = "modelops.io/rolled-out-version"  # KServe Serverless: the version main runs
ANNOTATION_KAFKA_MODELS = "modelops.io/kafka-models-hash"  # the collector pod's topics file (rolls it)
