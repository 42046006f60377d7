"""Real MLflow and real git for the promotion tests.

- `mlflow_template`: a SQLite registry seeded through MlflowClient; tests copy it. Seeding (MLflow's
  schema migrations) takes ~15 s, so the seeded file is kept in pytest's cache folder, keyed by the
  MLflow version and the seed data, and later sessions copy it.
- `mlflow_server`: one `mlflow server` on 127.0.0.1 for the session (REST, proxied artifacts,
  webhooks), in its own process group, stopped at the end.
- `make_repo`: a modelops repository in git whose `origin` is a bare repository.

mlflow is imported inside the fixtures only, so tests that do not use them stay fast.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import fixtures
from support.fixtures import git

MODEL = "eta-courier"
# version -> (source, metrics); version 6 is an MLflow 3 logged model (source models:/m-...)
VERSIONS = {
    1: ("s3://acme-models/eta-courier/1", {"rmse": 3.0, "mae": 2.0}),
    2: ("s3://acme-models/eta-courier/2", {"rmse": 2.9, "mae": 2.1}),
    3: ("s3://acme-models/eta-courier/3", {"rmse": 3.2, "mae": 2.2}),
    4: ("/srv/laptop/eta-courier/4", {"rmse": 2.0}),
    5: ("mlflow-artifacts:/eta-courier/5/artifacts", {"rmse": 2.8}),
}
FERNET_KEY = base64.urlsafe_b64encode(b"modelops-tests-webhook-key-32byt").decode()

CONFIG = """\
# yaml-language-server: $schema=schemas/modelops.schema.json
environments:
  staging:
    namespace: models-staging
  production:
    namespace: models
defaults:
  resources:
    requests: {cpu: 100m, memory: 256Mi}
teams:
  logistics:
    reviewers: ["@acme/logistics-ds"]
policy:
  allowed_schemes: [s3]
  allowed_buckets: ["s3://acme-models/"]
mlflow:
  retries: 0
  artifacts_destination: s3://acme-models/mlartifacts
github:
  repository: acme/models
"""

MODEL_TEXT = """\
# yaml-language-server: $schema=../schemas/model.schema.json
# Courier ETA in minutes.  Comments, blank lines and   odd spacing must survive promotions.

name: eta-courier
team: logistics        # owning team
description: "Predicts courier arrival time."
framework: xgboost
artifact:
  uri: s3://acme-models/eta-courier/1   # pinned by modelops promote
  secret: s3-models-readonly
  mlflow: {model: eta-courier, version: 1}
resources:
  requests: {cpu: 500m, memory: 1Gi}    # measured in load tests
autoupdate:
  candidate: challenger
  metric: rmse
  direction: minimize
  min_improvement: 0.05
  env: production
  rollout: canary
  traffic: 10
environments:
  staging:
    replicas: 1          # one is enough
  production:
    replicas: 2
    # production keeps the version pinned above until a promotion says otherwise
"""


def seed(tracking_uri: str) -> dict[int, str]:
    """Register eta-courier versions 1-6 with runs and metrics, alias challenger -> 2."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)  # MLflow resolves models:/ sources through the global URI
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.create_experiment("eta", artifact_location="s3://acme-models/mlflow/eta")
    client.create_registered_model(MODEL)
    runs = {}
    for number, (source, metrics) in VERSIONS.items():
        run = client.create_run(experiment).info.run_id
        for key, value in metrics.items():
            client.log_metric(run, key, value)
        client.create_model_version(MODEL, source=source, run_id=run)
        runs[number] = run
    logged = client.create_logged_model(experiment, name=MODEL, source_run_id=runs[1])
    client.create_model_version(MODEL, source=f"models:/{logged.model_id}", run_id=runs[1],
                                model_id=logged.model_id)
    client.set_registered_model_alias(MODEL, "challenger", "2")
    return runs


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """A seeded SQLite registry; copy it (`shutil.copy`) before writing to it."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    identity = f"{importlib.metadata.version('mlflow')}\0{inspect.getsource(seed)}\0{VERSIONS!r}\0{MODEL}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    cache = getattr(pytestconfig, "cache", None)  # None under -p no:cacheprovider
    if cache is None:
        seed(f"sqlite:///{path}")
        return path
    kept = cache.mkdir("mlflow-template") / f"{digest}.db"
    if kept.is_file():
        shutil.copy(kept, path)
        return path
    seed(f"sqlite:///{path}")
    partial = kept.with_suffix(f".tmp-{os.getpid()}")
    shutil.copy(path, partial)
    partial.replace(kept)
    return path


@dataclass
class Server:
    url: str
    artifacts: Path
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group started for `process`, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path):
    """`mlflow server` on 127.0.0.1 (one worker, job execution off, webhooks to 127.0.0.1 allowed)."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    database = folder / "server.db"
    shutil.copy(mlflow_template, database)
    artifacts = folder / "artifacts"
    artifacts.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": FERNET_KEY,
        "MLFLOW_WEBHOOK_CACHE_TTL": "0",
    }
    mlflow = str(Path(sys.executable).parent / "mlflow")
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [mlflow, "server", "--backend-store-uri", f"sqlite:///{database}",
         "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", 90, process)
        yield Server(url, artifacts, process)
    finally:
        stop(process)
        log.close()


@dataclass
class Repo:
    root: Path
    origin: Path

    def model(self) -> Path:
        return self.root / "models" / f"{MODEL}.yaml"

    def show(self, ref: str, path: str) -> str:
        return git(self.root, "show", f"{ref}:{path}")

    def origin_branches(self) -> list[str]:
        return git(self.origin, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def make_repo(base: Path, crd_dir: Path, *, model: str = MODEL_TEXT, config: str = CONFIG,
              store: Path | None = None) -> Repo:
    """A committed modelops repo (model compiled) pushed to a bare `origin`; `store` is copied
    into the repo as its embedded MLflow store (.mlflow/mlflow.db)."""
    from modelops.compile.emit.tree import GENERATED, replace_tree
    from modelops.compile.pipeline import build

    def compiled(root: Path) -> None:
        (root / ".gitignore").write_text(".mlflow/\n")
        result = build(root, None, crd_dir)
        assert not result.diagnostics, result.diagnostics
        replace_tree(root / GENERATED, result.files)
        for name, text in result.repo_files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        if store is not None:
            (root / ".mlflow").mkdir()
            shutil.copy(store, root / ".mlflow" / "mlflow.db")

    root, origin = base / "work", base / "origin.git"
    root.mkdir()
    fixtures.make_repo(root, {f"{MODEL}.yaml": model}, textwrap.dedent(config), origin=origin,
                       before_commit=compiled)
    return Repo(root, origin)
