"""Hand an environment to a GitOps controller: Argo CD `Application` or Flux `Kustomization`.

For each environment with `sync: argocd` or `sync: flux`, files land in `generated/_gitops/<env>/`,
outside the environment's kustomization, so the controller syncs `generated/<env>` and these objects
are applied once by whoever runs the controller (or by an app-of-apps). They are built by the compile
pipeline and validated against the Argo CD / Flux CRD schemas like every other object.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from modelops.compile.emit.block_yaml import Literal
from modelops.compile.spec import EnvironmentConfig, RepoConfig
from modelops.compile.summary import ModelSummary
from modelops.compile.targets import target_for
from modelops.compile.targets.contract import ObjectRef
from modelops.labels import LABEL_ENV, LABEL_MANAGED_BY, LABEL_NAME, LABEL_PART_OF, MANAGED_BY

FOLDER = "_gitops"
SELDON_GROUP = "machinelearning.seldon.io"
FIELD_MANAGERS_OF_AUTOSCALERS = ["kube-controller-manager"]

# Argo CD ships no health checks for these kinds (none under its resource_customizations/): ours
# live in argocd/<group>/<Kind>/ in Argo CD's own layout (health.lua, health_test.yaml, testdata/).
HEALTH_CHECKED_KINDS = (
    (SELDON_GROUP, "SeldonDeployment"),
    ("mlops.seldon.io", "Model"),
    ("mlops.seldon.io", "Experiment"),
)


def health_lua(group: str, kind: str) -> str:
    """The Lua health check Argo CD runs for `group`/`kind`."""
    return (files(__package__) / "argocd" / group / kind / "health.lua").read_text(encoding="utf-8")


def health_key(group: str, kind: str) -> str:
    """The argocd-cm key of a health check (`resource.customizations.health.<group>_<kind>`)."""
    return f"resource.customizations.health.{group}_{kind}"




def _labels(env: str) -> dict[str, str]:
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_PART_OF: MANAGED_BY, LABEL_ENV: env}


def argocd_application(env: str, config: EnvironmentConfig) -> dict[str, Any]:
    gitops = config.gitops
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"modelops-{env}", "namespace": gitops.argocd.namespace, "labels": _labels(env)},
        "spec": {
            "project": gitops.argocd.project,
            "source": {"repoURL": gitops.repo_url, "targetRevision": gitops.revision,
                       "path": f"generated/{env}"},
            "destination": {"server": gitops.argocd.server, "namespace": config.namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["ServerSideApply=true", "RespectIgnoreDifferences=true",
                                "ApplyOutOfSyncOnly=true"],
                "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}},
            },
            # Replicas belong to autoscalers (hpaSpec, HPAs): never sync them back.
            "ignoreDifferences": [
                {"group": SELDON_GROUP, "kind": "SeldonDeployment",
                 "jqPathExpressions": [".spec.replicas", ".spec.predictors[].replicas",
                                       ".spec.predictors[].componentSpecs[]?.replicas"],
                 "managedFieldsManagers": FIELD_MANAGERS_OF_AUTOSCALERS},
            ],
        },
    }


def argocd_health_patch(env: str, config: EnvironmentConfig) -> dict[str, Any]:
    """A strategic-merge patch for argocd-cm adding the Seldon health checks (each a `|` block)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": config.gitops.argocd.namespace,
                     "labels": {LABEL_NAME: "argocd-cm", LABEL_PART_OF: "argocd"}},
        "data": {health_key(group, kind): Literal(health_lua(group, kind))
                 for group, kind in HEALTH_CHECKED_KINDS},
    }


def flux_source(env: str, config: EnvironmentConfig) -> dict[str, Any]:
    gitops = config.gitops
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "modelops", "namespace": gitops.flux.namespace, "labels": _labels(env)},
        "spec": {"interval": gitops.flux.interval, "url": gitops.repo_url, "ref": {"branch": gitops.revision},
                 "ignore": Literal("/*\n!/generated/\n")},
    }


def flux_kustomization(env: str, config: EnvironmentConfig,
                       checked: list[tuple[str, ObjectRef]]) -> dict[str, Any]:
    """`checked`: (namespace, object) of each object whose health Flux waits for."""
    flux = config.gitops.flux
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": f"modelops-{env}", "namespace": flux.namespace, "labels": _labels(env)},
        "spec": {
            "interval": flux.interval,
            "path": f"./generated/{env}",
            "prune": True,
            "timeout": "5m",
            "sourceRef": {"kind": "GitRepository", "name": flux.source or "modelops"},
            "healthChecks": [
                {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "namespace": namespace}
                for namespace, ref in checked
            ],
            "healthCheckExprs": [{
                "apiVersion": f"{SELDON_GROUP}/v1", "kind": "SeldonDeployment",
                "current": "has(status.state) && status.state == 'Available'",
                "inProgress": "!has(status.state) || status.state == 'Creating'",
                "failed": "has(status.state) && status.state == 'Failed'",
            }],
        },
    }


def gitops_objects(config: RepoConfig, models: list[ModelSummary]) -> dict[str, dict[str, Any]]:
    """Files (relative to generated/) -> object, for every environment a controller syncs."""
    result: dict[str, dict[str, Any]] = {}
    for env, env_config in sorted(config.environments.items()):
        folder = f"{FOLDER}/{env}"
        if env_config.sync == "argocd":
            result[f"{folder}/application.yaml"] = argocd_application(env, env_config)
            result[f"{folder}/argocd-cm-patch.yaml"] = argocd_health_patch(env, env_config)
        elif env_config.sync == "flux":
            result[f"{folder}/kustomization-flux.yaml"] = flux_kustomization(env, env_config,
                                                                           _health_checked(models, env))
            if env_config.gitops.flux.source is None:
                result[f"{folder}/gitrepository.yaml"] = flux_source(env, env_config)
    return result


def _health_checked(models: list[ModelSummary], env: str) -> list[tuple[str, ObjectRef]]:
    """(namespace, object) of what each model's target has Flux wait on in `env`."""
    return sorted(
        ((deployed.namespace, ref) for model in models for deployed in model.envs if deployed.env == env
         for ref in target_for(deployed.target).health_checked(model.name)),
        key=lambda item: (item[0], item[1].name, item[1].kind),
    )
