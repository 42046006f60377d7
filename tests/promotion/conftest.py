"""The promotion tests' fixtures, from tests/support/promotion_fixtures.py."""

from support.promotion_fixtures import github, repo  # noqa: F401 - fixtures
