"""Generate a synthetic modelops repo of N realistic models (and the same inputs for Kapitan).

Deterministic for a given N and seed: a mix of frameworks (sklearn, xgboost, mlflow, triton),
canaries, shadows, A/B tests, autoscaling and fixed replicas, over two environments.

Two corpora: `equal` switches the observability pack off, so every tool writes the same three
objects per model and environment (the comparison with Kapitan); `defaults` is what a user gets:
the pack on (alerts, dashboards), production alerting on silence, and a mix of targets (Seldon
Core v1, Seldon Core 2, KServe) chosen per model.
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

CORPORA = ("equal", "defaults")
# share of models per target in the `defaults` corpus (the rest stay on the environments' seldon-v1)
TARGETS = (("seldon-v2", 0.25), ("kserve", 0.25))


def config(corpus: str) -> dict[str, Any]:
    """modelops.yaml of a corpus: `equal` as above, `defaults` with the pack on as shipped."""
    if corpus == "equal":
        return CONFIG
    data = yaml.safe_load(yaml.safe_dump(CONFIG))
    data["defaults"].pop("alerts")
    data["defaults"].pop("dashboard")
    data["environments"]["production"]["defaults"]["alerts"] = {"no_traffic": {"for": "15m"}}
    return data


WORDS = ["churn", "fraud", "eta", "rank", "price", "demand", "spam", "credit", "route", "match",
         "clicks", "basket", "stock", "risk", "lead", "score", "intent", "fleet", "promo", "search"]
FRAMEWORKS = ["sklearn"] * 4 + ["xgboost"] * 3 + ["mlflow"] * 2 + ["triton"]
TEAMS = ["risk", "logistics", "search", "platform"]


def pick_target(rng: random.Random) -> str | None:
    roll, edge = rng.random(), 0.0
    for target, share in TARGETS:
        edge += share
        if roll < edge:
            return target
    return None


def model_spec(i: int, rng: random.Random, corpus: str = "equal") -> dict[str, Any]:
    """One model file's data; `i` makes the name unique."""
    name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i:04d}"
    target = pick_target(rng) if corpus == "defaults" else None
    framework = rng.choice(FRAMEWORKS if target is None else ["sklearn", "xgboost"])
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
    if target is not None:
        spec["target"] = target
    if target == "seldon-v2":  # Models share their Server's CPUs, and scale on inference rate
        spec["resources"]["requests"]["cpu"] = None
    if rng.random() < 0.4:
        scale = {"rps": 50} if target == "seldon-v2" else {"cpu": rng.choice([60, 70, 80])}
        spec["autoscaling"] = {"min": 2, "max": rng.randint(4, 10), **scale}
    if rng.random() < 0.3 and target is None:  # Core 2 and KServe log otherwise: see docs/porting.md
        spec["logging"] = {"mode": rng.choice(["request", "all"])}
    production: dict[str, Any] = {}
    if "autoscaling" not in spec:
        production["replicas"] = rng.randint(2, 4)
    shape = rng.random()
    if shape < 0.25:
        canary = {"weight": 10, "artifact": artifact(version + 1)}
        production["traffic"] = {"main": {"weight": 90}, "canary": canary}
    elif shape < 0.40 and target != "kserve":  # KServe has no shadow
        shadow = {"shadow": True, "artifact": artifact(version + 1)}
        if "autoscaling" not in spec:
            shadow["replicas"] = 1
        production["traffic"] = {"main": {}, "challenger": shadow}
    elif shape < 0.45 and "autoscaling" not in spec and target is None:
        production["traffic"] = {"a": {"weight": 50}, "b": {"weight": 50, "artifact": artifact(version + 1)}}
    staging: dict[str, Any] = {"replicas": 1, "autoscaling": None} if rng.random() < 0.5 else {}
    spec["environments"] = {"staging": staging, "production": production}
    return spec


def model_text(spec: dict[str, Any]) -> str:
    return "# yaml-language-server: $schema=../schemas/model.schema.json\n" + yaml.safe_dump(
        spec, sort_keys=False, width=100
    )


def generate(root: Path, n: int, seed: int = 8, corpus: str = "equal") -> list[str]:
    """Write modelops.yaml and models/*.yaml under `root`; return the model file paths (relative)."""
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    (root / "models").mkdir(parents=True)
    (root / "modelops.yaml").write_text(yaml.safe_dump(config(corpus), sort_keys=False))
    names = []
    for i in range(n):
        spec = model_spec(i, rng, corpus)
        path = f"models/{spec['name']}.yaml"
        (root / path).write_text(model_text(spec))
        names.append(path)
    if shutil.which("git"):  # a real repo: `validate` reads history for the rollout rule
        git = ["git", "-C", str(root), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "bench corpus"], check=True)
    return names


def add_model(root: Path, i: int, corpus: str = "equal") -> Path:
    """Write one more model file (index `i`, past the corpus); its path. Adding a model changes the
    shared files (kustomizations, observability, CODEOWNERS), so a compile cannot take it alone."""
    spec = model_spec(i, random.Random(i), corpus)
    path = root / "models" / f"{spec['name']}.yaml"
    path.write_text(model_text(spec))
    return path


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
