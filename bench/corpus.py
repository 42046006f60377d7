"""Generate a synthetic modelops repo of N realistic models (and the same inputs for Kapitan).

Deterministic for a given N and seed: a mix of frameworks (sklearn, xgboost, mlflow, triton),
canaries, shadows, A/B tests, autoscaling and fixed replicas, over two environments.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

# The shape of the repo's own modelops.yaml; the observability pack (PrometheusRule, dashboard) is
# switched off so every tool writes the same three objects per model and environment.
CONFIG: dict[str, Any] = {
    "environments": {
        "staging": {
            "namespace": "models-staging",
            "target": "seldon-v1",
            "labels": {"release": "prometheus"},
        },
        "production": {
            "namespace": "models",
            "target": "seldon-v1",
            "labels": {"release": "prometheus"},
            "protected": True,
            "defaults": {"monitoring": {"interval": "15s"}},
            "rules": {"require_monitoring": True, "min_replicas": 2, "require_memory_limit": True},
        },
    },
    "defaults": {
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "monitoring": {"interval": "30s"},
        "logging": {"url": "http://logger.seldon-logs.svc.cluster.local:8080"},
        "alerts": {"enabled": False},
        "dashboard": False,
    },
    "platform_team": "@acme/ml-platform",
    "teams": {
        "risk": {"reviewers": ["@acme/risk-ds"]},
        "logistics": {"reviewers": ["@acme/logistics-ds"]},
        "search": {"reviewers": ["@acme/search-ml"]},
        "platform": {"reviewers": ["@acme/ml-platform"]},
    },
    "policy": {
        "allowed_schemes": ["s3", "gs"],
        "allowed_buckets": ["s3://acme-models/", "gs://acme-models/"],
        "max_replicas": 20,
    },
}

WORDS = ["churn", "fraud", "eta", "rank", "price", "demand", "spam", "credit", "route", "match",
         "clicks", "basket", "stock", "risk", "lead", "score", "intent", "fleet", "promo", "search"]
FRAMEWORKS = ["sklearn"] * 4 + ["xgboost"] * 3 + ["mlflow"] * 2 + ["triton"]
TEAMS = ["risk", "logistics", "search", "platform"]


def model_spec(i: int, rng: random.Random) -> dict[str, Any]:
    """One model file's data; `i` makes the name unique."""
    name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i:04d}"
    framework = rng.choice(FRAMEWORKS)
    bucket = "gs://acme-models" if framework == "triton" else "s3://acme-models"
    version = rng.randint(1, 40)

    def artifact(v: int) -> dict[str, Any]:
        art: dict[str, Any] = {"uri": f"{bucket}/{name}/{v}"}
        if framework != "triton":
            art["mlflow"] = {"model": name, "version": v}
        return art

    spec: dict[str, Any] = {
        "name": name,
        "team": rng.choice(TEAMS),
        "description": f"Synthetic {framework} model number {i} for the benchmark.",
        "framework": framework,
        "artifact": {**artifact(version), "secret": "s3-models-readonly"},
        "resources": {
            "requests": {"cpu": rng.choice(["250m", "500m", "1"]), "memory": rng.choice(["512Mi", "1Gi"])},
            "limits": {"memory": rng.choice(["1Gi", "2Gi", "4Gi"])},
        },
    }
    if rng.random() < 0.4:
        spec["autoscaling"] = {"min": 2, "max": rng.randint(4, 10), "cpu": rng.choice([60, 70, 80])}
    if rng.random() < 0.3:
        spec["logging"] = {"mode": rng.choice(["request", "all"])}
    production: dict[str, Any] = {}
    if "autoscaling" not in spec:
        production["replicas"] = rng.randint(2, 4)
    shape = rng.random()
    if shape < 0.25:
        canary = {"weight": 10, "artifact": artifact(version + 1)}
        production["traffic"] = {"main": {"weight": 90}, "canary": canary}
    elif shape < 0.40:
        shadow = {"shadow": True, "artifact": artifact(version + 1)}
        if "autoscaling" not in spec:
            shadow["replicas"] = 1
        production["traffic"] = {"main": {}, "challenger": shadow}
    elif shape < 0.45 and "autoscaling" not in spec:
        production["traffic"] = {"a": {"weight": 50}, "b": {"weight": 50, "artifact": artifact(version + 1)}}
    staging: dict[str, Any] = {"replicas": 1, "autoscaling": None} if rng.random() < 0.5 else {}
    spec["environments"] = {"staging": staging, "production": production}
    return spec


def model_text(spec: dict[str, Any]) -> str:
    return "# yaml-language-server: $schema=../schemas/model.schema.json\n" + yaml.safe_dump(
        spec, sort_keys=False, width=100
    )


def generate(root: Path, n: int, seed: int = 8) -> list[str]:
    """Write modelops.yaml and models/*.yaml under `root`; return the model file paths (relative)."""
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    (root / "models").mkdir(parents=True)
    (root / "modelops.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    names = []
    for i in range(n):
        spec = model_spec(i, rng)
        path = f"models/{spec['name']}.yaml"
        (root / path).write_text(model_text(spec))
        names.append(path)
    if shutil.which("git"):  # a real repo: `validate` reads history for the rollout rule
        git = ["git", "-C", str(root), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "bench corpus"], check=True)
    return names


def change_model(path: Path, step: int) -> None:
    """Edit one model as a promotion would: bump its main artifact version."""
    spec = yaml.safe_load(path.read_text())
    version = 100 + step
    spec["artifact"]["uri"] = spec["artifact"]["uri"].rsplit("/", 1)[0] + f"/{version}"
    if "mlflow" in spec["artifact"]:
        spec["artifact"]["mlflow"]["version"] = version
    path.write_text(model_text(spec))


# --- Kapitan: the same inputs as an inventory with one target per model ---------------------------

def kapitan_project(root: Path, models: Path) -> None:
    """A Kapitan project in `root` whose kadet component renders every model of `models/`."""
    if root.exists():
        shutil.rmtree(root)
    (root / "inventory" / "targets").mkdir(parents=True)
    (root / "inventory" / "classes").mkdir(parents=True)
    (root / "components" / "model").mkdir(parents=True)
    shutil.copy(HERE / "render.py", root / "components" / "model" / "bench_render.py")
    shutil.copy(HERE / "kadet_model.py", root / "components" / "model" / "__init__.py")
    common = {
        "parameters": {
            "modelops": CONFIG,
            "kapitan": {"compile": [{"input_type": "kadet", "input_paths": ["components/model"],
                                     "output_path": "."}]},
        }
    }
    (root / "inventory" / "classes" / "common.yml").write_text(yaml.safe_dump(common, sort_keys=False))
    for path in sorted(models.glob("*.yaml")):
        kapitan_target(root, path)


def kapitan_target(root: Path, model_file: Path) -> None:
    spec = yaml.safe_load(model_file.read_text())
    target = {"classes": ["common"], "parameters": {
        "kapitan": {"vars": {"target": model_file.stem}},
        "model": spec,
        "source": f"models/{model_file.name}",
    }}
    out = root / "inventory" / "targets" / f"{model_file.stem}.yml"
    out.write_text(yaml.safe_dump(target, sort_keys=False))
