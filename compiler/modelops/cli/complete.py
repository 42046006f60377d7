"""Shell completion of values: environments, models, rule codes and git refs.

Click completes commands and options by itself (`eval "$(_MODELOPS_COMPLETE=bash_source modelops)"`);
these functions complete what an option or argument takes, read from the repository the command line
names (`-C DIR`) or the one around the working directory. Completion never fails: a repository it
cannot read completes nothing.
"""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import CompletionItem


def _root(ctx: click.Context) -> Path:
    from modelops.compile.layout import find_root

    current: click.Context | None = ctx
    while current is not None:
        if current.params.get("repo"):
            return Path(current.params["repo"]).resolve()
        current = current.parent
    return find_root(Path.cwd())


def _matching(values: list[str], incomplete: str, helps: dict[str, str] | None = None,
              ) -> list[CompletionItem]:
    helps = helps or {}
    return [CompletionItem(v, help=helps.get(v)) for v in sorted(set(values)) if v.startswith(incomplete)]


def environments(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The environments modelops.yaml defines, with their namespaces."""
    from modelops.compile.project import load_config

    try:
        config, _, _ = load_config(_root(ctx))
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []
    if config is None:
        return []
    helps = {name: f"namespace {env.namespace}" for name, env in config.environments.items()}
    return _matching(list(config.environments), incomplete, helps)


def models(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The models in models/ (a model's name is its file name, MO201), without reading the files."""
    from modelops.compile.project import model_files

    try:
        files, _ = model_files(_root(ctx))
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []
    return _matching([path.name.rsplit(".", 1)[0] for _, path in files], incomplete)


def codes(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The diagnostic codes, with their titles (case does not matter: `mo2` completes MO2xx)."""
    from modelops.codes import RULES

    prefix = incomplete.upper()
    return [CompletionItem(r.code, help=r.title) for r in RULES if r.code.startswith(prefix)]


def git_refs(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Branches, remote branches and tags of the repository."""
    from modelops.diagnostics import UserError
    from modelops.git.refs import ref_names

    try:
        refs = ref_names(_root(ctx))
    except UserError:  # not a git repository, or no git
        return []
    return _matching([*refs, "HEAD"], incomplete)
