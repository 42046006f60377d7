"""The model spec (`models/*.yaml`) and the repository config (`modelops.yaml`), as pydantic models.

Override layers (repo defaults, environment overrides, variants) reuse the same classes: every field
is optional there, and only the keys a layer writes take part in the merge (see
`modelops.compile.resolve`). Required-after-merge rules live in `modelops.compile.rules.checks`, where
they can point at the right file and line.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

NAME_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
QUANTITY_RE = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
# https/http/ssh URLs (what Flux's GitRepository accepts) or the scp-like git@host:path (Argo CD).
GIT_URL_RE = r"^((https?|ssh)://[^\s/@]+(@[^\s/@]+)?(/[^\s]*)?|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+)$"
FLUX_URL_RE = r"^(http|https|ssh)://"
DURATION_RE = r"^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$"
KAFKA_BROKERS_RE = r"^[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*$"
KAFKA_TOPIC_RE = r"^[A-Za-z0-9._-]{1,249}$"
_LABEL_NAME_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

Name = Annotated[
    str,
    StringConstraints(pattern=NAME_RE, max_length=63),
    Field(description="A Kubernetes name (RFC 1123 label): lowercase letters, digits and '-'."),
]


def _quantity(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a Kubernetes quantity such as 500m, 2, 1Gi")
    text = str(value)
    if not QUANTITY_RE.match(text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 1Gi)")
    if text.startswith("-"):
        raise ValueError(f"{text!r} is negative: resources must be positive")
    return text


Quantity = Annotated[
    str,
    BeforeValidator(_quantity),
    Field(
        description="A Kubernetes quantity: 500m, 2, 512Mi, 1Gi.",
        # The sign-less pattern and minimum: negative quantities are refused (see `_quantity`).
        json_schema_extra={"pattern": QUANTITY_RE.pattern.replace(r"(\+|-)?", r"\+?", 1),
                           "type": ["string", "number"], "minimum": 0},
    ),
]
Duration = Annotated[
    str,
    StringConstraints(pattern=DURATION_RE, min_length=2),
    Field(description="A duration such as 30s, 1m or 1m30s."),
]


def _label_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix)):
        raise ValueError(f"label key {key!r} has an invalid prefix (a DNS subdomain)")
    if not name or len(name) > 63 or not _LABEL_NAME_RE.match(name):
        raise ValueError(
            f"label key {key!r} is invalid: at most 63 letters, digits, '-', '_' or '.'"
        )
    return key


def _label_values(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        _label_key(key)
        if len(value) > 63 or not _LABEL_VALUE_RE.match(value):
            raise ValueError(
                f"label {key} has an invalid value ({value[:4]!r}...): at most 63 letters, digits, '-', "
                "'_' or '.'"
            )
    return labels


def _annotation_keys(annotations: dict[str, str]) -> dict[str, str]:
    for key in annotations:
        _label_key(key)
    return annotations


Labels = Annotated[dict[str, str], AfterValidator(_label_values)]
# A CODEOWNERS owner and a pull request reviewer: @user, @org/team or an e-mail, nothing that could
# carry a second CODEOWNERS line or Markdown into a comment.
OWNER_RE = re.compile(r"^(@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9][A-Za-z0-9._-]{0,99})?"
                      r"|[A-Za-z0-9.!#$%&'*+=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")


def _owner(value: str) -> str:
    if not OWNER_RE.match(value):
        raise ValueError(f"{value!r} is not a code owner: write @user, @org/team or an e-mail address")
    return value


Owner = Annotated[str, AfterValidator(_owner)]

Annotations = Annotated[dict[str, str], AfterValidator(_annotation_keys)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Strict(BaseModel):
    """Strict scalars, as the JSON Schema has them: no bool for a number, no string for a number."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_enum_values=True, validate_default=True, strict=True,
        allow_inf_nan=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _integral_floats(cls, data: object) -> object:
        """`2.0` is an integer to JSON Schema; strict pydantic refuses it: take it as 2."""
        if not isinstance(data, dict):
            return data
        ints = _int_fields(cls)
        return {
            key: int(value) if type(value) is float and value.is_integer() and key in ints else value
            for key, value in data.items()
        }


def _int_fields(model: type[BaseModel]) -> frozenset[str]:
    """The keys (aliases) of `model` whose value is an int (or an optional int)."""
    return frozenset(
        info.alias or name
        for name, info in model.model_fields.items()
        if info.annotation is int or info.annotation == int | None  # noqa: E721
    )


class Framework(StrEnum):
    SKLEARN = "sklearn"
    XGBOOST = "xgboost"
    LIGHTGBM = "lightgbm"
    MLFLOW = "mlflow"
    TENSORFLOW = "tensorflow"
    TRITON = "triton"
    HUGGINGFACE = "huggingface"
    CUSTOM = "custom"


class Protocol(StrEnum):
    V2 = "v2"
    V1 = "v1"  # KServe's v1 (the TF Serving-style REST protocol): KServe's own default for sklearn & co
    SELDON = "seldon"
    TENSORFLOW = "tensorflow"
    KFSERVING = "kfserving"  # Seldon Core v1's older name of v2, rendered as written


INT32_MAX = 2**31 - 1  # replicas, percentages and seconds are int32 fields in every API


Target = Literal["seldon-v1", "seldon-v2", "kserve"]
TARGET_DESCRIPTION = (
    "Platform the model is compiled for: seldon-v1 (SeldonDeployment), seldon-v2 (Seldon Core 2 "
    "Model/Experiment) or kserve (InferenceService). The most specific setting wins: "
    "model environments.<env>.target, then the model's target, then modelops.yaml."
)


class MlflowRef(_Strict):
    """The MLflow registry entry the artifact was pinned from (written by `modelops promote`)."""

    model: str = Field(min_length=1, description="Registered model name in MLflow.")
    version: int = Field(ge=1, description="Registered model version.")


class Artifact(_Strict):
    uri: str | None = Field(
        None,
        description="Storage URI of the model folder (s3://, gs://, az://, https://). "
        "Never models:/ or mlflow-artifacts:/: Seldon cannot read those.",
    )
    secret: Name | None = Field(
        None, description="Name of the Kubernetes Secret holding storage credentials."
    )
    service_account: Name | None = Field(
        None, description="kserve: name of the ServiceAccount listing `secret` (default <model>-storage); "
        "it is rendered beside the InferenceService.",
    )
    mlflow: MlflowRef | None = Field(None, description="Where this URI was pinned from.")


class ResourceList(_Strict):
    cpu: Quantity | None = Field(None, description="CPU, in cores: 500m, 1, 2.", examples=["500m"])
    memory: Quantity | None = Field(None, description="Memory: 512Mi, 2Gi.", examples=["1Gi"])
    gpu: int | None = Field(None, ge=0, le=INT32_MAX, description="Number of nvidia.com/gpu.")


class Resources(_Strict):
    requests: ResourceList | None = Field(
        None, description="What the scheduler reserves for each replica.",
        examples=[{"cpu": "500m", "memory": "1Gi"}],
    )
    limits: ResourceList | None = Field(
        None, description="The most each replica may use (memory above it is OOM-killed).",
        examples=[{"memory": "2Gi"}],
    )


class Autoscaling(_Strict):
    min: int | None = Field(
        None, ge=0, le=INT32_MAX,
        description="Minimum replicas (default 1); 0 scales to zero (kserve Serverless only).",
    )
    max: int | None = Field(
        None, ge=1, le=INT32_MAX,
        description="Maximum replicas; unset means unbounded where the platform allows it (kserve "
        "Serverless, seldon-v2 native), else required.",
    )
    cpu: int | None = Field(None, ge=1, le=1000, description="Target CPU utilisation, percent.")
    memory: int | None = Field(None, ge=1, le=1000, description="Target memory utilisation, percent.")
    rps: float | None = Field(
        None, gt=0, le=1_000_000, allow_inf_nan=False,
        description="Target requests per second per replica (targets that support it).",
    )
    concurrency: int | None = Field(
        None, ge=1, le=INT32_MAX,
        description="kserve Serverless: target in-flight requests per replica (Knative's concurrency "
        "metric).",
    )
    autoscaler: Literal["hpa", "keda"] | None = Field(
        None,
        description="kserve Standard: who scales the predictor, an HPA (default) or a KEDA "
        "ScaledObject (serving.kserve.io/autoscalerClass).",
    )
    native: bool | None = Field(
        None,
        description="seldon-v2 only: Seldon's own lag-based scaler (Model minReplicas/maxReplicas) "
        "instead of an HPA; takes min and max, no cpu, memory or rps.",
    )


class Monitoring(_Strict):
    enabled: bool | None = Field(None, description="Scrape the model's metrics (default true).")
    interval: Duration | None = Field(None, description="Scrape interval (default 30s).")
    kind: Literal["ServiceMonitor", "PodMonitor"] | None = Field(
        None, description="How Prometheus finds the pods (default ServiceMonitor)."
    )


class Kafka(_Strict):
    """Request/response logging to Kafka instead of an HTTP sink."""

    broker: str | None = Field(
        None,
        pattern=KAFKA_BROKERS_RE,
        description="Bootstrap broker(s): host:port, comma-separated for several.",
    )
    topic: str | None = Field(
        None,
        pattern=KAFKA_TOPIC_RE,
        description="Topic (default modelops.<environment>.<model>).",
    )


class Logging(_Strict):
    mode: Literal["none", "request", "response", "all"] | None = Field(
        None, description="Which payloads to log (default none)."
    )
    url: str | None = Field(None, description="HTTP sink receiving the CloudEvents.")
    kafka: Kafka | None = Field(None, description="Log to Kafka (not together with `url`).")
    sample: int | None = Field(
        None, ge=1, le=100, description="Percent of requests to log (targets that support it: seldon-v2)."
    )
    store: Name | None = Field(
        None, description="Save the predictions in this store of modelops.yaml's `stores` (through the "
        "environment's collector), for `modelops compare`; not together with `url`, nor with `kafka` but "
        "on seldon-v1 (the collector consumes the topic).",
        examples=["default"],
    )


class _Alert(_Strict):
    model_config = ConfigDict(serialize_by_alias=True)

    enabled: bool | None = Field(None, description="false switches this alert off.")
    for_: Duration | None = Field(
        None, alias="for", description="How long the condition must hold before the alert fires."
    )


class LatencyAlert(_Alert):
    p99_ms: float | None = Field(
        None, gt=0, le=86_400_000, allow_inf_nan=False,
        description="p99 latency SLO in milliseconds (default 500).",
    )


class ErrorAlert(_Alert):
    ratio: float | None = Field(
        None, gt=0, le=1, allow_inf_nan=False,
        description="Share of failed requests that fires the alert (default 0.05)."
    )


class NoTrafficAlert(_Alert):
    """Fires when the model received no request for `for` (default 15m)."""


class VariantAlert(_Alert):
    latency_ratio: float | None = Field(
        None, ge=1, le=1000, allow_inf_nan=False,
        description="A canary/shadow whose p99 exceeds main's p99 times this fires (default 1.5).",
    )
    error_margin: float | None = Field(
        None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="A canary/shadow whose error ratio exceeds main's by more than this fires "
        "(default 0.02).",
    )


class Alerts(_Strict):
    """Prometheus alerts for the model; each is on with its defaults (no_traffic once its block is set)."""

    enabled: bool | None = Field(None, description="Emit the PrometheusRule (default true).")
    latency: LatencyAlert | None = Field(None, description="p99 latency above the SLO.")
    errors: ErrorAlert | None = Field(None, description="Error ratio above a threshold.")
    no_traffic: NoTrafficAlert | None = Field(
        None, description="No requests at all; on once this block is set (e.g. in production defaults)."
    )
    variants: VariantAlert | None = Field(
        None, description="A canary or shadow slower or failing more than main."
    )
    labels: Labels | None = Field(None, description="Extra labels on every alert (for routing).")


class Probe(_Strict):
    initial_delay: int | None = Field(None, ge=0, le=INT32_MAX, description="Seconds before the first probe.")
    period: int | None = Field(None, ge=1, le=INT32_MAX, description="Seconds between probes.")
    timeout: int | None = Field(None, ge=1, le=INT32_MAX, description="Seconds before a probe times out.")
    failure_threshold: int | None = Field(None, ge=1, le=INT32_MAX, description="Failures before giving up.")


class Probes(_Strict):
    readiness: Probe | None = Field(
        None, description="When a replica gets traffic: raise initial_delay for large models."
    )
    liveness: Probe | None = Field(None, description="When a replica is restarted.")


class Settings(_Strict):
    """Deployment settings that repo defaults, environments and the model itself may set."""

    replicas: int | None = Field(
        None, ge=0, le=INT32_MAX, description="Fixed replica count (without autoscaling)."
    )
    autoscaling: Autoscaling | None = Field(
        None, description="Scale between min and max replicas on cpu, memory, rps or concurrency "
        "(instead of fixed replicas).", examples=[{"min": 2, "max": 10, "cpu": 70}],
    )
    resources: Resources | None = Field(
        None, description="CPU, memory and GPU requests and limits of the model server container.",
        examples=[{"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}],
    )
    artifact: Artifact | None = Field(
        None, description="Where the model server loads the model from (`modelops promote` pins it).",
        examples=[{"uri": "s3://models/churn/3"}],
    )
    monitoring: Monitoring | None = Field(
        None, description="Prometheus scraping of the model's metrics (ServiceMonitor or PodMonitor)."
    )
    logging: Logging | None = Field(
        None, description="Request/response logging of every prediction as CloudEvents.",
        examples=[{"mode": "all", "url": "http://logger.seldon-logs"}],
    )
    alerts: Alerts | None = Field(
        None, description="Prometheus alert rules: latency, errors, no traffic, variant regressions.",
        examples=[{"latency": {"p99_ms": 250}, "errors": {"ratio": 0.01}}],
    )
    dashboard: bool | None = Field(None, description="Emit a Grafana dashboard ConfigMap (default true).")
    probes: Probes | None = Field(None, description="Readiness and liveness probe timing.")
    container_concurrency: int | None = Field(
        None, ge=0, le=INT32_MAX,
        description="kserve Serverless: hard limit of requests one replica serves at once "
        "(Knative containerConcurrency; 0 = no limit).",
    )
    env: dict[EnvName, str] | None = Field(
        None, description="Non-secret environment variables for the model server."
    )
    labels: Labels | None = Field(None, description="Extra labels on every object.")
    annotations: Annotations | None = Field(None, description="Extra annotations on every object.")


class Variant(_Strict):
    """One predictor: `main`, a canary, an A/B arm, or the shadow."""

    weight: int | None = Field(
        None, ge=0, le=100, description="Share of traffic in percent; non-shadow weights sum to 100."
    )
    shadow: bool = Field(False, description="Receives a copy of the traffic; its answers are dropped.")
    artifact: Artifact | None = Field(
        None, description="This variant's model artifact (a canary or shadow serves another version)."
    )
    resources: Resources | None = Field(None, description="This variant's requests and limits.")
    replicas: int | None = Field(
        None, ge=0, le=INT32_MAX, description="This variant's fixed replica count."
    )
    image: str | None = Field(
        None, min_length=1, description="This variant's container image (framework: custom only)."
    )
    model_name: Name | None = Field(
        None, description="seldon-v2: name of this variant's Model (default <model>, other "
        "variants <model>-<variant>)."
    )


Traffic = dict[Name, Variant]


class EnvironmentOverride(Settings):
    """What this model changes in one environment (over the environment's defaults)."""

    namespace: Name | None = Field(
        None, description="Namespace in this environment (default: the environment's namespace)."
    )
    target: Target | None = Field(None, description=TARGET_DESCRIPTION)
    traffic: Traffic | None = Field(
        None, description="Variants in this environment; replaces the model's traffic as a whole."
    )


class AutoUpdate(_Strict):
    """Opt-in policy for `modelops autoupdate`: promote a better MLflow candidate through a pull request."""

    enabled: bool = Field(True, description="false pauses automatic updates of this model.")
    candidate: str = Field(
        "latest", min_length=1,
        description="Where candidates come from: an MLflow alias (e.g. challenger) or `latest` "
        "(the newest registered version).",
    )
    registered_model: str | None = Field(
        None, min_length=1,
        description="MLflow registered model name (default: the pinned artifact.mlflow.model, "
        "else the model's name).",
    )
    metric: str = Field(min_length=1, description="Metric of the MLflow runs to compare, e.g. rmse.")
    direction: Literal["minimize", "maximize"] = Field(
        description="minimize: lower is better (rmse); maximize: higher is better (auc)."
    )
    min_improvement: float = Field(
        0.0, ge=0, description="How much better (absolute) the candidate must be than the deployed version."
    )
    env: Name = Field(description="Environment to promote into.")
    rollout: Literal["canary", "shadow", "replace"] = Field(
        "canary", description="How the candidate is rolled out: canary, shadow, or replace main."
    )
    traffic: int = Field(10, ge=1, le=99, description="Canary share in percent (rollout: canary).")


class RolloutGates(_Strict):
    """What a canary or shadow must show against main before it advances (`modelops rollout`)."""

    error_ratio_margin: float = Field(
        0.01, ge=0, le=1, description="The trial's error ratio may exceed main's by at most this."
    )
    latency_p99_ratio: float = Field(
        1.2, gt=0, description="The trial's p99 latency at most this times main's."
    )
    query: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        default_factory=list, description="Extra PromQL gates, each returning 1 for pass."
    )


class Rollout(_Strict):
    """Progressive delivery judged by metrics: `modelops rollout` advances, holds or aborts a trial."""

    steps: list[Annotated[int, Field(ge=1, le=99)]] = Field(
        default_factory=lambda: [10, 25, 50], min_length=1,
        description="Canary weights in percent, increasing; after the last, the canary becomes main.",
    )
    bake: Duration = Field("30m", description="Minimum time at each step, from the merge that set it.")
    min_requests: int = Field(
        500, ge=0, le=INT32_MAX, description="Requests per variant in the 5m window before any decision."
    )
    gates: RolloutGates = Field(
        default_factory=lambda: RolloutGates(),
        description="What a step must meet to advance: error and latency margins over main, extra queries.",
    )
    auto_merge: bool = Field(False, description="Ask GitHub to merge each step's PR when its checks pass.")

    @model_validator(mode="after")
    def _increasing(self) -> Rollout:
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise ValueError("rollout.steps must increase, e.g. [10, 25, 50]")
        return self


class ChosenNames(_Strict):
    """Names the platform lets you choose (defaults derive from the model name)."""

    experiment: Name | None = Field(
        None, description="seldon-v2: name of the Experiment (default <model>-experiment)."
    )
    graph: Name | None = Field(
        None, description="seldon-v1: name of the graph node and its container (default the model "
        "name); Seldon derives its Deployment and Service names from it.",
    )


Join = Literal["inner", "outer", "any"]
JOIN_DESCRIPTION = "How {what} are joined: inner (all, default), outer (any within the window) or any."
TensorRef = Annotated[str, StringConstraints(min_length=1, pattern=r"^[^.\s]+(\.[^.\s]+)*$")]
TensorMap = Annotated[
    dict[TensorRef, Annotated[str, StringConstraints(min_length=1)]],
    Field(description="Renames tensors: `<step>.outputs.<tensor>` (or `<pipeline>.inputs.<tensor>`) "
          "-> the name the reader sees.", examples=[{"features.outputs.OUTPUT0": "INPUT0"}]),
]


class StepBatch(_Strict):
    """Batch a step's requests (Core 2 step `batch`)."""

    size: int | None = Field(None, ge=1, le=INT32_MAX, description="Requests per batch.")
    window_ms: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Milliseconds to wait for a batch to fill."
    )
    rolling: bool | None = Field(None, description="Send a full batch as soon as it fills.")


class PipelineStep(_Strict):
    model: Name = Field(description="The Model this step runs: a model (variant Model) in this namespace.")
    inputs: list[TensorRef] | None = Field(
        None, description="What the step reads: `<step>`, `<step>.outputs[.<tensor>]` or "
        "`<pipeline>.inputs[.<tensor>]` (default: the pipeline's inputs).",
        examples=[["features.outputs"], ["features.outputs.OUTPUT0", "iris.inputs.INPUT1"]],
    )
    tensor_map: TensorMap | None = None
    triggers: list[TensorRef] | None = Field(
        None, description="Tensors that must arrive before the step runs (their data is not passed).",
        examples=[["choice.outputs.choice-1"]],
    )
    inputs_join: Join | None = Field(None, description=JOIN_DESCRIPTION.format(what="inputs"))
    triggers_join: Join | None = Field(None, description=JOIN_DESCRIPTION.format(what="triggers"))
    join_window_ms: int | None = Field(
        None, ge=0, le=INT32_MAX, description="Milliseconds to wait for an outer join."
    )
    batch: StepBatch | None = Field(None, description="Batch this step's requests (Core 2 step batch).")


class PipelineInput(_Strict):
    """Where a pipeline takes its data from besides its own requests (Core 2 `spec.input`)."""

    external_inputs: list[TensorRef] | None = Field(
        None, description="Other pipelines' tensors this pipeline reads: `<pipeline>.(inputs|outputs)"
        "[.<tensor>]` or `<pipeline>.step.<step>.outputs[.<tensor>]`.",
        examples=[["chain.outputs.OUTPUT0"]],
    )
    external_triggers: list[TensorRef] | None = Field(
        None, description="Other pipelines' tensors that must arrive before this pipeline runs."
    )
    join: Join | None = Field(None, description=JOIN_DESCRIPTION.format(what="external inputs"))
    triggers_join: Join | None = Field(None, description=JOIN_DESCRIPTION.format(what="triggers"))
    join_window_ms: int | None = Field(
        None, ge=0, le=INT32_MAX, description="Milliseconds to wait for an outer join."
    )
    tensor_map: TensorMap | None = None


class PipelineOutput(_Strict):
    """What the pipeline returns, with the join of its parts (Core 2 `spec.output`)."""

    steps: list[TensorRef] = Field(
        min_length=1, description="`<step>` or `<step>.outputs[.<tensor>]` entries.",
        examples=[["scorer"], ["scorer.outputs.OUTPUT0", "explainer.outputs"]],
    )
    join: Join | None = Field(None, description=JOIN_DESCRIPTION.format(what="the outputs"))
    join_window_ms: int | None = Field(
        None, ge=0, le=INT32_MAX, description="Milliseconds to wait for an outer join."
    )
    tensor_map: TensorMap | None = None


class Pipeline(_Strict):
    """A Seldon Core 2 Pipeline: a graph of Models by name (target seldon-v2)."""

    steps: list[PipelineStep] = Field(min_length=1, description="The steps, one per Model.")
    input: PipelineInput | None = Field(None, description="Inputs from other pipelines.")
    output: list[TensorRef] | PipelineOutput | None = Field(
        None, description="What the pipeline returns (default: the last step): a list of `<step>` or "
        "`<step>.outputs[.<tensor>]`, or {steps, join, join_window_ms, tensor_map}.",
        examples=[["scorer"], {"steps": ["a", "b"], "join": "any"}],
    )


class Mirror(_Strict):
    """A pipeline that receives a copy of the experiment's traffic; its answers are dropped."""

    name: Name = Field(description="The mirrored pipeline (of any model file in the namespace).")
    percent: int = Field(100, ge=1, le=100, description="Share of the traffic copied, percent.")


class PipelineExperiment(_Strict):
    """A Seldon Core 2 Experiment over pipelines (`resourceType: pipeline`)."""

    default: Name | None = Field(
        None, description="The pipeline whose traffic the experiment takes over (default: the first)."
    )
    candidates: dict[Name, Annotated[int, Field(ge=1, le=INT32_MAX)]] = Field(
        min_length=1, description="Pipelines (of this or another model file in the namespace) and "
        "their relative weights.", examples=[{"chain-a": 80, "chain-b": 20}],
    )
    mirror: Mirror | None = Field(None, description="A pipeline that gets a copy of the traffic.")


class WithinGate(_Strict):
    """regression: at least `share` of the pairs differ by at most `tolerance`."""

    tolerance: float = Field(ge=0, description="Largest absolute difference that counts as the same.")
    share: float = Field(gt=0, le=1, description="Smallest share of pairs within the tolerance.")


class LiveGate(_Strict):
    """On requests whose true answer arrived (Seldon feedback, or labels in the store), the trial must
    do at least as well as main: accuracy (classification) or RMSE (regression)."""

    min_labels: int = Field(
        500, ge=1, le=INT32_MAX, description="Labelled answers each variant needs before the gate "
        "decides (until then rollout holds).",
    )
    margin: float = Field(
        0.0, ge=0, description="How much better the trial must be: accuracy (0.01 is one point) for a "
        "classification, RMSE for a regression; 0: no worse than main.",
    )


class CompareGates(_Strict):
    """What the trial's predictions must meet against main's before `rollout` moves it on."""

    agreement: float | None = Field(
        None, gt=0, le=1, description="classification: smallest share of paired requests where both "
        "variants predict the same class.", examples=[0.95],
    )
    psi: float | None = Field(
        None, gt=0, description="Largest population stability index between the two output "
        "distributions (0.1 small, 0.2 large shift).", examples=[0.2],
    )
    mae: float | None = Field(None, gt=0, description="regression: largest mean absolute difference.")
    bias: float | None = Field(
        None, gt=0, description="regression: largest absolute mean difference (trial minus main)."
    )
    within: WithinGate | None = Field(None, description="regression: share of pairs within a tolerance.")
    live: LiveGate | None = Field(
        None, description="Beat main on ground truth: accuracy or RMSE on labelled live traffic.",
        examples=[{"min_labels": 500, "margin": 0.0}],
    )


class Compare(_Strict):
    """Judge a shadow or canary by its predictions against main's (`modelops compare`, rollout gates)."""

    task: Literal["classification", "regression"] = Field(
        description="classification compares predicted classes; regression compares values."
    )
    output: Annotated[str, StringConstraints(pattern=r"^outputs\[[0-9]+\]$")] = Field(
        "outputs[0]", description="Which output tensor (v2) or the ndarray (seldon protocol) to "
        "compare: outputs[0] is the first; a row of scores counts as its argmax.",
    )
    min_pairs: int = Field(
        1000, ge=1, le=INT32_MAX, description="Paired predictions needed before a gate decides "
        "(until then rollout holds).",
    )
    window: Duration = Field("24h", description="How far back rollout reads the stored predictions.")
    gates: CompareGates = Field(
        default_factory=lambda: CompareGates(), description="Thresholds the trial must meet.",
        examples=[{"agreement": 0.95, "psi": 0.2}],
    )

    @model_validator(mode="after")
    def _gates_fit_the_task(self) -> Compare:
        wrong = ("mae", "bias", "within") if self.task == "classification" else ("agreement",)
        written = [name for name in wrong if getattr(self.gates, name) is not None]
        if written:
            raise ValueError(f"compare.gates.{written[0]} does not apply to task {self.task}")
        return self


NodeType = Literal["MODEL", "TRANSFORMER", "OUTPUT_TRANSFORMER", "COMBINER", "ROUTER"]


class GraphParameter(_Strict):
    """A parameter Seldon passes to a graph node's component (`parameters[]`)."""

    name: str = Field(min_length=1, description="Parameter name, as the component reads it.")
    type: Literal["INT", "FLOAT", "DOUBLE", "STRING", "BOOL"] = Field(
        "STRING", description="How Seldon converts the value."
    )
    value: str = Field(description="The value, as a string (Seldon converts it by `type`).")


class NodeLogging(_Strict):
    """This node's payload logger (Seldon `logger`): the model's logging.url when it names none."""

    mode: Literal["none", "request", "response", "all"] = Field(description="What this node logs.")
    url: str | None = Field(None, description="HTTP sink of this node's CloudEvents.")


class GraphNode(_Strict):
    """A node of the Seldon Core v1 inference graph beside the model's own (a leaf of type MODEL)."""

    type: NodeType = Field(
        description="TRANSFORMER (changes the request, then calls its children), OUTPUT_TRANSFORMER "
        "(calls its children, then changes their answer), COMBINER (joins its children's answers), "
        "ROUTER (picks one child) or MODEL.",
    )
    image: str | None = Field(
        None, min_length=1, description="The node's container image (its own component)."
    )
    framework: Framework | None = Field(
        None, strict=False, description="type MODEL: a prepackaged server instead of an image."
    )
    uri: str | None = Field(
        None, min_length=1, description="type MODEL with a framework: the model artifact it loads."
    )
    children: list[Name] = Field(
        default_factory=list, description="The nodes it calls, by name; the model's own node is named "
        "like the model (or names.graph).", examples=[["churn"]],
    )
    replicas: int | None = Field(
        None, ge=0, le=INT32_MAX, description="Run this node in a Deployment of its own with this many "
        "replicas (its own componentSpec); without, it shares the model's pods.",
    )
    resources: Resources | None = Field(None, description="The node container's requests and limits.")
    env: dict[EnvName, str] | None = Field(
        None, description="Non-secret environment variables of the node's container."
    )
    logging: NodeLogging | None = Field(None, description="This node's payload logger.")
    parameters: list[GraphParameter] | None = Field(
        None, description="Parameters passed to the node's component.",
        examples=[[{"name": "n_branches", "type": "INT", "value": "2"}]],
    )


class Graph(_Strict):
    """seldon-v1: the inference graph around the model (transformers, combiners, routers)."""

    root: Name | None = Field(
        None, description="The node the executor calls first (default: the one no node calls)."
    )
    nodes: dict[Name, GraphNode] = Field(
        min_length=1, description="The nodes besides the model's own, by name.",
        examples=[{"translator": {"type": "TRANSFORMER", "image": "registry.example/translator:1.2",
                                  "children": ["spam-classifier"]}}],
    )


class ModelSpec(Settings):
    """One model: `models/<name>.yaml`."""

    name: Name = Field(
        description="The model's name: objects, routes and generated/ files are named after it.",
        examples=["churn-classifier"],
    )
    team: Name = Field(
        description="The team owning the model: a key of `teams` in modelops.yaml (its reviewers "
        "approve changes; its caps apply).", examples=["risk"],
    )
    description: str = Field("", description="What the model does, for reviewers and dashboards.")
    framework: Framework = Field(  # an enum: strict mode wants an instance
        strict=False, description="The model server: sklearn, xgboost, lightgbm, mlflow, tensorflow, "
        "triton, huggingface, or custom (your own image).", examples=["sklearn"],
    )
    image: str | None = Field(None, description="Container image (framework: custom only).")
    protocol: Protocol = Field(
        Protocol.V2, strict=False, description="The inference protocol: v2 (Open Inference, default), "
        "v1 (KServe), seldon or tensorflow (Seldon Core v1), kfserving (v2, by its older name).",
    )
    target: Target | None = Field(None, description=TARGET_DESCRIPTION)
    traffic: Traffic | None = Field(
        None, description="Variants for every environment (default: one `main` variant)."
    )
    environments: dict[Name, EnvironmentOverride] | None = Field(
        None,
        description="Environments this model runs in, with their overrides "
        "(default: every environment of modelops.yaml, no overrides).",
    )
    autoupdate: AutoUpdate | None = Field(
        None, description="Let `modelops autoupdate` open promotion pull requests for better candidates."
    )
    rollout: Rollout | None = Field(
        None, description="Let `modelops rollout` advance or abort canaries and shadows on metrics "
        "(default: the environment's rollout in modelops.yaml).",
    )
    names: ChosenNames | None = Field(None, description="Names to use instead of the derived ones.")
    pipelines: dict[Name, Pipeline] | None = Field(
        None, description="seldon-v2: Pipelines over models by name, rendered beside this model."
    )
    experiments: dict[Name, PipelineExperiment] | None = Field(
        None, description="seldon-v2: Experiments over pipelines of the namespace."
    )
    compare: Compare | None = Field(
        None, description="Compare a shadow's or canary's predictions with main's on stored traffic "
        "(needs logging.store); rollout gates on it.",
        examples=[{"task": "classification", "min_pairs": 1000, "gates": {"agreement": 0.95}}],
    )
    graph: Graph | None = Field(
        None, description="seldon-v1: an inference graph of transformers, combiners or routers "
        "around the model, rendered in every predictor.",
    )
    requirements: list[Annotated[str, StringConstraints(min_length=1)]] | None = Field(
        None, description="seldon-v2: server capabilities the Model needs besides the framework's "
        "(Model requirements), e.g. [python].", examples=[["python"], ["triton", "python"]],
    )


# --- repository config: modelops.yaml ------------------------------------------------------------

class Rules(_Strict):
    """Policy gates, evaluated by `modelops validate`; each is off unless an environment sets it."""

    require_monitoring: bool = Field(False, description="Every model must keep monitoring on.")
    min_replicas: int | None = Field(
        None, ge=1, description="Fewest replicas a serving variant may run (autoscaling.min counts)."
    )
    require_memory_limit: bool = Field(False, description="Every variant must set a memory limit.")
    require_rollout: bool = Field(
        False,
        description="A new artifact reaches the main variant only after it ran as a canary or "
        "shadow in this environment (read from git history).",
    )


class ArgoCDSettings(_Strict):
    project: str = Field("default", min_length=1, description="Argo CD project of the Application.")
    namespace: Name = Field("argocd", description="Namespace Argo CD runs in (Applications, argocd-cm).")
    server: str = Field("https://kubernetes.default.svc", description="Destination cluster API URL.")


class FluxSettings(_Strict):
    namespace: Name = Field("flux-system", description="Namespace of the Kustomization and GitRepository.")
    source: Name | None = Field(
        None, description="An existing GitRepository to use; unset: emit one named `modelops`."
    )
    interval: Duration = Field("5m", description="How often Flux reconciles.")


class GitOps(_Strict):
    """Where a GitOps controller finds this repository (`sync: argocd` or `flux`)."""

    repo_url: str | None = Field(
        None, pattern=GIT_URL_RE,
        description="Git URL of this repository, as the controller reaches it: https://, ssh:// "
        "or (Argo CD only) git@host:path.",
    )
    revision: str = Field("main", min_length=1, description="Branch, tag or commit to follow.")
    argocd: ArgoCDSettings = Field(
        default_factory=lambda: ArgoCDSettings(), description="The Argo CD Application (sync: argocd)."
    )
    flux: FluxSettings = Field(
        default_factory=lambda: FluxSettings(), description="The Flux Kustomization (sync: flux)."
    )


class CollectorKafka(_Strict):
    """The Kafka the collector consumes: Seldon Core 2's topics and Seldon v1's Kafka logger topics."""

    broker: str = Field(
        pattern=KAFKA_BROKERS_RE,
        description="Bootstrap broker(s), host:port, comma-separated for several: the Kafka of the Seldon "
        "Core 2 installation, and the default broker of a Seldon v1 model logging to Kafka with a store.",
        examples=["seldon-kafka-bootstrap.seldon-mesh:9092"],
    )
    secret: Name | None = Field(
        None, description="Kubernetes Secret with the consumer's settings as MODELOPS_KAFKA_* variables "
        "(MODELOPS_KAFKA_SECURITY_PROTOCOL, MODELOPS_KAFKA_SASL_MECHANISM, MODELOPS_KAFKA_SASL_USERNAME, "
        "MODELOPS_KAFKA_SASL_PASSWORD: librdkafka's names, upper case, dots as underscores).",
    )


class EnvironmentConfig(_Strict):
    namespace: Name = Field(description="Default namespace of this environment's models.")
    target: Target = Field("seldon-v1", description=TARGET_DESCRIPTION)
    kserve_mode: Literal["Standard", "Serverless"] = Field(
        "Standard",
        description="KServe deployment mode (target kserve): Standard (formerly RawDeployment; "
        "canaries through spec.canary) or Serverless (Knative; canaries through "
        "canaryTrafficPercent).",
    )
    labels: Labels = Field(
        default_factory=dict,
        description="Labels on every object of this environment (e.g. what Prometheus selects).",
    )
    defaults: Settings = Field(
        default_factory=Settings, description="Settings every model gets in this environment (over the "
        "repository defaults, under the model's own)."
    )
    rules: Rules = Field(default_factory=lambda: Rules(), description="Policy gates for this environment.")
    protected: bool = Field(
        False, description="Changes here also need the platform team's approval (CODEOWNERS)."
    )
    sync: Literal["ci", "argocd", "flux"] = Field(
        "ci",
        description="Who applies generated/<env> to the cluster: `modelops sync` in CI, Argo CD or Flux.",
    )
    gitops: GitOps = Field(
        default_factory=lambda: GitOps(), description="Repository and controller settings for argocd / flux."
    )
    rollout: Rollout | None = Field(
        None, description="Default rollout policy of the models with a canary or shadow here."
    )
    prometheus: str | None = Field(
        None, description="Prometheus URL `modelops rollout` reads (--prometheus, $PROMETHEUS_URL win)."
    )
    grafana_url: str | None = Field(
        None, description="Grafana base URL, for dashboard links in rollout pull requests."
    )
    kafka: CollectorKafka | None = Field(
        None, description="This environment's Kafka (its cluster's Seldon Core 2), which its collector "
        "consumes instead of collector.kafka.",
        examples=[{"broker": "seldon-kafka-bootstrap.seldon-mesh:9092"}],
    )

    @model_validator(mode="after")
    def _gitops_source(self) -> EnvironmentConfig:
        needs_url = self.sync == "argocd" or (self.sync == "flux" and self.gitops.flux.source is None)
        if needs_url and not self.gitops.repo_url:
            raise ValueError(f"sync: {self.sync} needs gitops.repo_url (the Git URL the controller pulls)")
        return self

    def flux_url_problem(self) -> str | None:
        """Why Flux cannot pull gitops.repo_url (its GitRepository takes http(s):// or ssh:// only)."""
        url = self.gitops.repo_url
        if self.sync != "flux" or url is None or re.match(FLUX_URL_RE, url):
            return None
        host, _, path = url.partition(":")
        return (f"gitops.repo_url {url!r}: Flux needs an http(s):// or ssh:// URL, "
                f"e.g. ssh://{host}/{path.lstrip('/')}")


class Team(_Strict):
    reviewers: list[Owner] = Field(default_factory=list, description="GitHub users or @org/teams.")
    max_replicas: int | None = Field(
        None, ge=1, description="Cap on the sum of the team's maximum replicas in one environment."
    )


class Policy(_Strict):
    allowed_schemes: list[str] = Field(
        default_factory=lambda: ["s3", "gs", "az", "https"],
        description="URI schemes an artifact may use.", examples=[["s3", "gs"]],
    )
    allowed_buckets: list[str] = Field(
        default_factory=list,
        description="URI prefixes artifacts must start with, e.g. s3://ml-models/ (empty: any).",
    )
    max_replicas: int | None = Field(
        20, ge=1, description="Most replicas any variant may run; null: no cap (allows unbounded "
        "autoscaling where the target has it).",
    )
    allowed_system_namespaces: list[Name] = Field(
        default_factory=list,
        description="Kubernetes' own namespaces (kube-system, kube-public, kube-node-lease, default) "
        "models and collectors may deploy into anyway (empty: none of them).",
        examples=[["default"]],
    )
    allowed_env: list[EnvName] = Field(
        default_factory=list,
        description="Environment variables a model may set although they change which code its server "
        "loads (LD_*, PATH, PYTHONPATH, PYTHONHOME).", examples=[["LD_LIBRARY_PATH"]],
    )
    allow_high_entropy: list[EnvName] = Field(
        default_factory=list,
        description="Environment variables whose long random-looking values are no credentials (e.g. a "
        "checksum); in others such a value is refused like one (MO261).", examples=[["MODEL_CHECKSUM"]],
    )


class MlflowSettings(_Strict):
    """The MLflow registry `modelops promote` and `autoupdate` read ($MLFLOW_TRACKING_URI wins)."""

    tracking_uri: str | None = Field(
        None, description="Tracking server URI; unset: the embedded SQLite store `embedded_store`."
    )
    embedded_store: str = Field(
        ".mlflow/mlflow.db", min_length=1,
        description="SQLite file (relative to the repository root) used when no tracking URI is set; "
        "needs the full `mlflow` package.",
    )
    artifacts_destination: str | None = Field(
        None,
        description="The bucket behind the server's proxied artifacts (its --artifacts-destination, "
        "e.g. s3://acme-models/mlartifacts): mlflow-artifacts:/ URIs are pinned under it.",
    )
    ui_url: str | None = Field(
        None, description="MLflow UI for links in pull requests (default: the tracking URI if http)."
    )
    retries: int = Field(3, ge=0, le=10, description="Retries of a failed request to the tracking server.")
    timeout: int = Field(10, ge=1, description="Seconds before a request to the tracking server times out.")
    webhook_secret_env: EnvName = Field(
        "MLFLOW_WEBHOOK_SECRET",
        description="Environment variable holding the webhook HMAC secret (`autoupdate serve`).",
    )
    follow_sync: bool = Field(
        False, description="After `modelops sync`, point the environment's aliases (ENV, ENV-canary, "
        "ENV-shadow) and tag modelops.deployed.ENV=<commit> at the versions that run.",
    )


class GitSettings(_Strict):
    remote: str = Field("origin", min_length=1, description="Remote promotion branches are pushed to.")
    base: str = Field("main", min_length=1, description="Branch promotions start from and target.")


class GitHubSettings(_Strict):
    repository: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="owner/name (default: $GITHUB_REPOSITORY, else parsed from the remote URL).",
    )
    api_url: str | None = Field(
        None, description="REST API base (default $GITHUB_API_URL, else https://api.github.com); "
        "GitHub Enterprise: https://HOST/api/v3.",
    )
    web_url: str | None = Field(
        None, description="Web base for compare links (default: derived from the API URL)."
    )
    token_env: EnvName = Field("GITHUB_TOKEN", description="Environment variable holding the API token.")


class Notify(_Strict):
    """The word back after `modelops sync --wait`: one report per changed model and environment."""

    github_deployments: bool = Field(
        False, description="Report each changed model as a GitHub deployment (environment, commit) with "
        "its success or failure status (token: github.token_env).",
    )
    webhook_url_env: EnvName | None = Field(
        None, description="Environment variable holding a Slack-compatible webhook URL (a secret: never "
        "in git); unset or empty: no webhook.",
    )
    on_decline_env: EnvName | None = Field(
        None, description="Environment variable holding a Slack-compatible webhook URL `modelops rollout` "
        "calls when a main variant breaches its alert thresholds (e.g. to start retraining).",
    )


class Store(_Strict):
    """Where predictions are saved: Hive-partitioned Parquet that DuckDB, Trino or Spark read."""

    uri: str = Field(
        min_length=1, pattern=r"^(s3|gs|abfs|az|file)://\S+$",
        description="s3://bucket/prefix, gs://, abfs:// or file:///path (a volume of the collector).",
        examples=["s3://acme-predictions/"],
    )
    secret: Name | None = Field(
        None, description="Kubernetes Secret with the store's credentials, as environment variables of "
        "the collector (e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).",
    )
    endpoint: str | None = Field(
        None, pattern=r"^https?://\S+$",
        description="An S3-compatible endpoint (MinIO, Ceph), for s3:// stores.",
    )


class Collector(_Strict):
    """The collector modelops generates per environment and store (`modelops collect` in a pod)."""

    image: str = Field(
        min_length=1, description="The collector image (the repository's Dockerfile builds it).",
        examples=["registry.example/modelops:0.4.0"],
    )
    replicas: int = Field(2, ge=1, le=INT32_MAX, description="Replicas at least (the HPA's minimum).")
    max_replicas: int = Field(
        6, ge=1, le=INT32_MAX, description="Replicas at most (the HPA scales on CPU between the two)."
    )
    namespace: Name | None = Field(
        None, description="Namespace of the collector (default: the environment's namespace)."
    )
    resources: Resources | None = Field(None, description="The collector container's requests and limits.")
    kafka: CollectorKafka | None = Field(
        None, description="Consume Kafka too: needed by seldon-v2 models storing predictions (Core 2 writes "
        "them to its topics) and by seldon-v1 models logging to Kafka with a store.",
    )


class RepoConfig(_Strict):
    environments: dict[Name, EnvironmentConfig] = Field(
        min_length=1, description="The environments models deploy to, each with its namespace and target.",
        examples=[{"staging": {"namespace": "models-staging"}, "prod": {"namespace": "models"}}],
    )
    defaults: Settings = Field(
        default_factory=Settings, description="Settings every model gets, in every environment."
    )
    teams: dict[Name, Team] = Field(
        default_factory=dict, description="The teams owning models: reviewers and caps.",
        examples=[{"risk": {"reviewers": ["@acme/risk"]}}],
    )
    policy: Policy = Field(
        default_factory=Policy, description="What any model may use: artifact schemes and buckets, caps, "
        "system namespaces, environment variables."
    )
    platform_team: Owner | None = Field(
        None, description="GitHub team that co-owns protected environments, e.g. @acme/ml-platform."
    )
    mlflow: MlflowSettings = Field(default_factory=lambda: MlflowSettings(), description="MLflow registry.")
    git: GitSettings = Field(default_factory=lambda: GitSettings(), description="Where promotions go.")
    github: GitHubSettings = Field(
        default_factory=lambda: GitHubSettings(), description="Pull requests for promotions."
    )
    notify: Notify = Field(default_factory=lambda: Notify(), description="The word back after sync --wait.")
    stores: dict[Name, Store] = Field(
        default_factory=dict, description="Prediction stores models name in logging.store.",
        examples=[{"default": {"uri": "s3://acme-predictions/"}}],
    )
    collector: Collector | None = Field(
        None, description="The prediction collector each environment that stores predictions runs."
    )
