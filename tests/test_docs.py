"""The README stays short and every page it links exists; the docs site lists every page."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def test_the_readme_is_at_most_15_kb_and_starts_with_make_run_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 15 * 1024
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_every_relative_link_in_the_readme_and_docs_resolves_to_a_file() -> None:
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
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
