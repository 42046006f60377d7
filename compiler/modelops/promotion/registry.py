"""Read the MLflow model registry: versions, aliases, run metrics, and what Seldon must download.

mlflow is imported inside the functions (the compile path never loads it). mlflow-skinny talks to a
tracking server; the embedded SQLite store (no server) needs the full `mlflow` package.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import yaml

if TYPE_CHECKING:
    from modelops.compile.resolve import ResolvedModel, ResolvedVariant
    from modelops.compile.spec import MlflowSettings, ModelSpec
    from modelops.promotion.edit import Pin


class RegistryError(Exception):
    """A registry problem to report as one line; `code` is the MO5xx diagnostic code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    download_uri: str
    metrics: dict[str, float] = field(default_factory=dict)


def tracking_uri(root: Path, settings: MlflowSettings) -> str:
    """$MLFLOW_TRACKING_URI, else `mlflow.tracking_uri`, else the embedded SQLite store in the repo."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or settings.tracking_uri
    if uri:
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            return f"sqlite:///{(root / uri.removeprefix('sqlite:///')).resolve()}"  # relative to the repo
        return uri
    store = (root / settings.embedded_store).resolve()
    if not store.is_file():
        raise RegistryError("MO501", (
            "no MLflow registry: set MLFLOW_TRACKING_URI or mlflow.tracking_uri in modelops.yaml, "
            f"or register models in the embedded store {settings.embedded_store} "
            f"(mlflow.set_tracking_uri('sqlite:///{settings.embedded_store}'))"))
    return f"sqlite:///{store}"


def storage_uri(download_uri: str, settings: MlflowSettings) -> str:
    """The URI Seldon downloads: registry URIs refused, proxied artifacts mapped to their bucket."""
    parsed = urlparse(download_uri)
    scheme = parsed.scheme.lower()
    if scheme in ("models", "runs"):
        raise RegistryError("MO504", (
            f"MLflow resolved the model to {download_uri}: Seldon cannot read {scheme}:/ URIs, "
            "and modelops never pins them"))
    if scheme == "mlflow-artifacts":
        if not settings.artifacts_destination:
            raise RegistryError("MO505", (
                f"{download_uri} is served by the MLflow server, which Seldon cannot read: set "
                "mlflow.artifacts_destination in modelops.yaml to the server's --artifacts-destination "
                "bucket"))
        return settings.artifacts_destination.rstrip("/") + "/" + parsed.path.lstrip("/").rstrip("/")
    if scheme in ("", "file") or len(scheme) == 1:  # a path, file:// or a Windows drive letter
        raise RegistryError("MO506", (
            f"{download_uri} is a local path that Seldon cannot read: log the model to an artifact "
            "store the cluster reaches (s3://, gs://, az://)"))
    return download_uri.rstrip("/")


def skops_problem(mlmodel_text: str) -> str | None:
    """Why a model cannot be served by current Seldon images, read from its MLmodel file."""
    try:
        mlmodel = yaml.safe_load(mlmodel_text) or {}
    except yaml.YAMLError:
        return None
    sklearn = (mlmodel.get("flavors") or {}).get("sklearn") or {}
    if sklearn.get("serialization_format") == "skops":
        return ("is a scikit-learn model saved in the skops format (MLflow 3's default), which the "
                "MLflow inside current Seldon images cannot load: log it again with "
                "mlflow.sklearn.log_model(..., serialization_format='cloudpickle')")
    return None


# The MLflow flavours a framework's server loads (python_function alone: only mlflow or custom).
FITTING_FLAVORS: dict[str, set[str]] = {
    "sklearn": {"sklearn"},
    "xgboost": {"xgboost"},
    "lightgbm": {"lightgbm"},
    "tensorflow": {"tensorflow", "keras"},
    "triton": {"onnx", "tensorflow", "keras", "pytorch"},
    "huggingface": {"transformers"},
}


def flavor_problem(mlmodel_text: str, framework: str) -> str | None:
    """Why a version's MLmodel `flavors` do not fit the model file's `framework`, else None."""
    try:
        mlmodel = yaml.safe_load(mlmodel_text) or {}
    except yaml.YAMLError:
        return None
    flavors = sorted((mlmodel.get("flavors") or {}) if isinstance(mlmodel, dict) else {})
    fitting = FITTING_FLAVORS.get(framework)
    if fitting is None or not flavors or fitting & set(flavors):
        return None  # mlflow and custom serve any python_function model
    found = ", ".join(flavors)
    if flavors == ["python_function"]:
        return (f"is a python_function-only MLflow model, which the {framework} server cannot load "
                "(the model file says framework: " + framework + "; only framework mlflow or custom fits)")
    return (f"is an MLflow model of flavour {found}, but the model file says framework: {framework} "
            f"(needs {', '.join(sorted(fitting))}): pin a version of that kind, or change framework")


# MLflow's HTTP client retries through urllib3, which logs each retry (at debug level) here.
_RETRY_LOGGER = "urllib3.util.retry"
ANNOUNCE_FROM = 2.0  # seconds: shorter waits go unsaid


class _RetryAnnouncer(logging.Handler):
    """Says on stderr what a retry of MLflow's HTTP client is about to wait for."""

    def __init__(self, uri: str, what: str) -> None:
        super().__init__(logging.DEBUG)
        self.uri, self.what = uri, what

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        retry = args[-1] if args else None
        backoff = getattr(retry, "get_backoff_time", lambda: 0.0)()
        if isinstance(backoff, (int, float)) and backoff >= ANNOUNCE_FROM:
            print(f"waiting {backoff:.0f} s to retry MLflow at {self.uri} ({self.what})",
                  file=sys.stderr, flush=True)


@contextmanager
def _announcing_retries(uri: str, what: str) -> Iterator[None]:
    logger = logging.getLogger(_RETRY_LOGGER)
    handler, level = _RetryAnnouncer(uri, what), logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class Registry:
    """An MlflowClient with bounded retries whose failures are one-line RegistryErrors."""

    def __init__(self, uri: str, settings: MlflowSettings) -> None:
        self.uri = uri
        self.settings = settings
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.retries))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.timeout))
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise RegistryError("MO507", f"cannot import mlflow ({exc}): install mlflow-skinny") from exc
        if uri.startswith("sqlite:"):
            try:
                import sqlalchemy  # noqa: F401  - only full mlflow brings the SQL store
            except ImportError as exc:
                raise RegistryError("MO507", (
                    f"the embedded store {uri} needs the full mlflow package (mlflow-skinny only talks "
                    "to a server): pip install mlflow==3.17.2, or set MLFLOW_TRACKING_URI")) from exc
        self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    @classmethod
    def from_config(cls, root: Path, settings: MlflowSettings) -> Registry:
        return cls(tracking_uri(root, settings), settings)

    def _call(self, what: str, function: Any, *args: Any) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            with _announcing_retries(self.uri, what):
                return function(*args)
        except MlflowException as exc:
            text = str(exc)
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in text.lower():
                raise RegistryError("MO502", f"{what} not found in MLflow at {self.uri}") from exc
            if "API request to" in text or exc.error_code in ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE"):
                raise RegistryError("MO501", self._unreachable(exc)) from exc
            first = text.strip().splitlines()[0] if text.strip() else exc.error_code
            raise RegistryError("MO508", f"MLflow at {self.uri} refused {what}: {first[:200]}") from exc
        except OSError as exc:  # connection errors outside MLflow's own handling
            raise RegistryError("MO501", self._unreachable(exc)) from exc

    def _unreachable(self, exc: Exception) -> str:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "Max retries exceeded" in reason or "Connection refused" in reason:
            reason = "connection refused or timed out"
        return (f"MLflow at {self.uri} failed after {self.settings.retries} retries: {reason[:200]} "
                "(check MLFLOW_TRACKING_URI or mlflow.tracking_uri)")

    def version(self, name: str, version: int) -> ModelVersion:
        entry = self._call(f"version {version} of registered model {name!r}",
                           self._client.get_model_version, name, str(version))
        return self._complete(entry)

    def by_alias(self, name: str, alias: str) -> ModelVersion:
        entry = self._call(f"alias {alias!r} of registered model {name!r}",
                           self._client.get_model_version_by_alias, name, alias)
        return self._complete(entry)

    def latest(self, name: str) -> ModelVersion:
        if "'" in name:
            raise RegistryError("MO502", f"registered model name {name!r} contains a quote")
        found = self._call(f"registered model {name!r}", self._client.search_model_versions,
                           f"name = '{name}'")
        if not found:
            raise RegistryError("MO502", f"registered model {name!r} has no versions ({self.uri})")
        return self.version(name, max(int(v.version) for v in found))

    def candidate(self, name: str, source: str) -> ModelVersion:
        """`latest`, else the version an alias points at."""
        return self.latest(name) if source == "latest" else self.by_alias(name, source)

    def _complete(self, entry: Any) -> ModelVersion:
        version = int(entry.version)
        download = self._call(f"download URI of {entry.name} version {version}",
                              self._client.get_model_version_download_uri, entry.name, str(version))
        run_id = entry.run_id or None
        metrics: dict[str, float] = {}
        if run_id:
            run = self._call(f"run {run_id} of {entry.name} version {version}", self._client.get_run, run_id)
            metrics = dict(run.data.metrics)
        return ModelVersion(entry.name, version, entry.source, run_id, download, metrics)

    def mlmodel(self, download_uri: str) -> str | None:
        """The text of the version's MLmodel file, or None when it cannot be read from here."""
        from mlflow.artifacts import download_artifacts

        with tempfile.TemporaryDirectory(prefix="modelops-mlmodel-") as folder:
            try:
                path = download_artifacts(artifact_uri=download_uri.rstrip("/") + "/MLmodel",
                                          dst_path=folder, tracking_uri=self.uri)
                return Path(path).read_text(encoding="utf-8")
            except Exception:  # noqa: BLE001 - unreachable store, no credentials, no client library
                return None

    def ui_link(self, name: str, version: int) -> str | None:
        base = self.settings.ui_url or (self.uri if self.uri.startswith(("http://", "https://")) else None)
        return f"{base.rstrip('/')}/#/models/{name}/versions/{version}" if base else None

    # --- writing: aliases and tags that say what runs where (`modelops.promotion.follow`) ----------

    def aliases(self, name: str) -> dict[str, int]:
        """alias -> version of a registered model ({} when MLflow does not know the model)."""
        try:
            model = self._call(f"registered model {name!r}", self._client.get_registered_model, name)
        except RegistryError as exc:
            if exc.code == "MO502":
                return {}
            raise
        return {key: int(value) for key, value in (model.aliases or {}).items()}

    def tagged(self, name: str, key: str) -> dict[int, str]:
        """version -> value of the versions of `name` that carry tag `key`."""
        if "'" in name or "`" in key:
            raise RegistryError("MO502", f"registered model name {name!r} or tag {key!r} has a quote")
        found = self._call(f"versions of registered model {name!r}", self._client.search_model_versions,
                           f"name = '{name}'")
        return {int(v.version): v.tags[key] for v in found or [] if key in (v.tags or {})}

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self._call(f"alias {alias!r} of {name!r}", self._client.set_registered_model_alias,
                   name, alias, str(version))

    def delete_alias(self, name: str, alias: str) -> None:
        self._call(f"alias {alias!r} of {name!r}", self._client.delete_registered_model_alias, name, alias)

    def set_tag(self, name: str, version: int, key: str, value: str) -> None:
        self._call(f"tag {key!r} of {name!r} version {version}", self._client.set_model_version_tag,
                   name, str(version), key, value)

    def delete_tag(self, name: str, version: int, key: str) -> None:
        self._call(f"tag {key!r} of {name!r} version {version}", self._client.delete_model_version_tag,
                   name, str(version), key)


# --- what a model file pins, and how versions compare ------------------------------------------------

def mlflow_ref(variant: ResolvedVariant | None) -> tuple[str | None, int | None]:
    """The registered model and version a variant pins (`artifact.mlflow`), None where it pins none."""
    if variant is None:
        return None, None
    ref = variant.settings.get("artifact", "mlflow") or {}
    return ref.get("model"), ref.get("version")


def pinned(variant: ResolvedVariant) -> Pin:
    """What a variant runs: its artifact URI and the MLflow version it pins, if any."""
    from modelops.promotion.edit import Pin

    model, version = mlflow_ref(variant)
    return Pin(str(variant.settings.get("artifact", "uri")), model, version)


def registered_name(spec: ModelSpec, deployed: ResolvedModel | None) -> str:
    """The MLflow name: autoupdate's `registered_model`, else the pinned one, else the model's name."""
    if spec.autoupdate and spec.autoupdate.registered_model:
        return spec.autoupdate.registered_model
    pinned, _ = mlflow_ref(deployed.main if deployed else None)
    return pinned or spec.name


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def metric_rows(current: ModelVersion | None, candidate: ModelVersion) -> list[tuple[str, ...]]:
    """The header and one row per metric logged on either version's run: deployed, candidate, change."""
    left = f"deployed (v{current.version})" if current else "deployed"
    rows: list[tuple[str, ...]] = [("metric", left, f"candidate (v{candidate.version})", "change")]
    names = sorted(set(candidate.metrics) | set(current.metrics if current else {}))
    for name in names:
        old = current.metrics.get(name) if current else None
        new = candidate.metrics.get(name)
        change = number(new - old) if old is not None and new is not None else "—"
        if change != "—" and not change.startswith("-"):
            change = "+" + change
        rows.append((name, number(old), number(new), change))
    if not names:
        rows.append(("(no metrics logged on the runs)", "", "", ""))
    return rows


def worse_warning(spec: ModelSpec, current: ModelVersion | None, candidate: ModelVersion) -> str | None:
    """A warning when the candidate is worse than what runs on the model's own metric
    (`autoupdate.metric` and `direction`)."""
    policy = spec.autoupdate
    if policy is None or current is None or current.version == candidate.version:
        return None
    old, new = current.metrics.get(policy.metric), candidate.metrics.get(policy.metric)
    if old is None or new is None:
        return None
    worse = new > old if policy.direction == "minimize" else new < old
    if not worse:
        return None
    return (f"version {candidate.version} is worse than the running version {current.version} on "
            f"{policy.metric} ({number(new)} against {number(old)}, "
            f"autoupdate.direction: {policy.direction})")
