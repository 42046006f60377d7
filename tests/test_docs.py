"""The README stays short and every page it links exists; the docs site lists every page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from modelops.codes import RULES

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def test_the_readme_is_at_most_15_kb_and_starts_with_make_run_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 15 * 1024
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_every_relative_link_in_the_readme_and_docs_resolves_to_a_file() -> None:
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        for target, _ in LINK.findall(page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).is_file(), f"{page.relative_to(ROOT)}: {target}"


def test_the_docs_site_lists_every_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav: object) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, list):
            return [p for item in nav for p in pages(item)]
        if isinstance(nav, dict):
            return [p for value in nav.values() for p in pages(value)]
        return []

    listed = pages(config["nav"])
    assert sorted(listed) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert config["not_in_nav"].split() == ["/rules/*.md"]  # the rule pages, linked from rules.md


def test_the_pages_made_from_the_code_are_current() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "compiler" / "tools" / "docs_pages.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_every_rule_has_its_own_page_linked_from_the_table() -> None:
    table = (ROOT / "docs" / "rules.md").read_text()
    for rule in RULES:
        page = (ROOT / "docs" / "rules" / f"{rule.code}.md").read_text()
        assert page.startswith(f"# {rule.code}: {rule.title}\n")
        assert f"[{rule.code}](rules/{rule.code}.md)" in table
    duplicate = (ROOT / "docs" / "rules" / "MO005.md").read_text()
    assert "```yaml\nreplicas: 2\nreplicas: 3\n```" in duplicate  # Before/After as code


def test_the_model_file_reference_lists_every_key_of_the_schema() -> None:
    reference = (ROOT / "docs" / "model-file.md").read_text()
    for key in ("autoupdate.min_improvement", "traffic.<name>.weight", "pipelines.<name>.steps[].model",
                "compare.gates.agreement"):
        assert f"| `{key}` |" in reference, key
    config = (ROOT / "docs" / "config.md").read_text()
    assert "| `policy.allowed_schemes` |" in config and "| `teams.<name>.reviewers` |" in config
