"""The command-line tests' fixtures, from tests/support/cli.py."""

from support.cli import work  # noqa: F401 - a fixture
