"""Where the schema each emitted kind is validated against comes from.

Per custom resource kind the first folder holding its file wins: `--crd-dir`, $MODELOPS_CRD_DIR,
the repo's `schemas/crds/` (what `modelops schemas pull` writes from the user's cluster, maybe only
some kinds), then the structural copies bundled with modelops (`bundled/crds/`, made and already
closed by `compiler/tools/bundle_schemas.py`). Core kinds always use the bundled Kubernetes
definitions (`bundled/kubernetes/`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV = "MODELOPS_CRD_DIR"
BUNDLED = Path(__file__).parent / "bundled"
KUBERNETES_VERSION = "1.33.0"
# Kinds modelops emits: `schemas pull` fetches these and `sync` may prune them.
CRD_FILES = {
    ("machinelearning.seldon.io/v1", "SeldonDeployment"): "seldondeployment-v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
    ("mlops.seldon.io/v1alpha1", "Model"): "seldon2-model.json",
    ("mlops.seldon.io/v1alpha1", "Experiment"): "seldon2-experiment.json",
    ("mlops.seldon.io/v1alpha1", "Pipeline"): "seldon2-pipeline.json",
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve-inferenceservice.json",
    ("argoproj.io/v1alpha1", "Application"): "argocd-application.json",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "argocd-applicationset.json",
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "flux-kustomization.json",
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): "flux-gitrepository.json",
}
# Bundled too, for the Seldon Core 2 objects that sit beside the Models (not emitted yet).
OTHER_CRD_FILES = {
    ("mlops.seldon.io/v1alpha1", "Server"): "seldon2-server.json",
}
ALL_CRD_FILES = {**CRD_FILES, **OTHER_CRD_FILES}
CORE_FILES = {
    ("v1", "Service"): "service-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "ServiceAccount"): "serviceaccount-v1.json",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "horizontalpodautoscaler-autoscaling-v2.json",
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",  # the prediction collector
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudget-policy-v1.json",
}
CORE_DEFINITIONS = "_definitions.json"


class MissingSchemaFolder(Exception):
    """`--crd-dir` or $MODELOPS_CRD_DIR names a folder that does not exist."""

    def __init__(self, origin: str, folder: Path) -> None:
        where = "--crd-dir" if origin == "flag" else f"${ENV}"
        super().__init__(f"CRD schema folder {folder} ({where}) does not exist")
        self.origin, self.folder = origin, folder


@dataclass(frozen=True)
class Source:
    """The schema file of one kind; `origin` is flag, env, repo or bundled."""

    api_version: str
    kind: str
    origin: str
    path: Path

    @property
    def closed(self) -> bool:
        """Bundled copies reject unknown fields already; pulled or given ones are raw upstream."""
        return self.origin == "bundled"


@dataclass(frozen=True)
class SchemaSet:
    """The folders searched for CRD schemas, first wins; the bundled folder is always last."""

    folders: tuple[tuple[str, Path], ...] = (("bundled", BUNDLED / "crds"),)

    @classmethod
    def find(cls, explicit: Path | None = None, root: Path | None = None,
             environ: dict[str, str] | None = None) -> SchemaSet:
        """`explicit` (--crd-dir), $MODELOPS_CRD_DIR, `root`/schemas/crds when it exists, bundled."""
        env = (os.environ if environ is None else environ).get(ENV)
        folders: list[tuple[str, Path]] = []
        for origin, folder in (("flag", explicit), ("env", Path(env) if env else None)):
            if folder is not None:
                if not folder.is_dir():
                    raise MissingSchemaFolder(origin, folder)
                folders.append((origin, folder))
        if root is not None and (root / "schemas" / "crds").is_dir():
            folders.append(("repo", root / "schemas" / "crds"))
        return cls((*folders, *cls().folders))

    def source(self, key: tuple[str, str]) -> Source | None:
        """Where `key`'s schema comes from; None for a kind no folder has a schema of."""
        if key in CORE_FILES:
            return Source(*key, "bundled", BUNDLED / "kubernetes" / CORE_FILES[key])
        name = ALL_CRD_FILES.get(key)
        if name is None:
            return None
        for origin, folder in self.folders:
            if (folder / name).is_file():
                return Source(*key, origin, folder / name)
        return None

    def sources(self) -> list[Source | tuple[str, str]]:
        """Every known kind's source (or its key, if it has none), sorted by apiVersion and kind."""
        return [self.source(key) or key for key in sorted({*ALL_CRD_FILES, *CORE_FILES})]

    def files(self) -> list[Path]:
        """Every schema file validation may read: what the cache fingerprint covers."""
        chosen = [s.path for s in self.sources() if isinstance(s, Source)]
        return sorted({*chosen, BUNDLED / "kubernetes" / CORE_DEFINITIONS})


def read_schema(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def provenance() -> dict[str, dict[str, Any]]:
    """Bundled file (relative to `bundled/`, e.g. `crds/podmonitor.json`) -> where it came from."""
    entries = read_schema(BUNDLED / "provenance.json")["files"]
    return {entry["file"]: entry for entry in entries}
