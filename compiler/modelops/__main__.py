"""`python -m modelops`: the same as the `modelops` command."""

from modelops.cli.main import main

main()
