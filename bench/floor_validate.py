"""The floor of `validate` on one file: what any click + PyYAML + pydantic command pays before work.

It starts Python, imports click, PyYAML and pydantic, declares one pydantic model with one field and
validates the file against it. modelops adds its ~30 spec models, its own modules, and the real
checks, rendering and output validation on top of this.

Usage: python floor_validate.py FILE
"""

from __future__ import annotations

import click
import yaml
from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def main(path: str) -> None:
    with open(path, encoding="utf-8") as stream:
        Spec.model_validate(yaml.load(stream, Loader=yaml.CSafeLoader))
    click.echo("1 model(s) valid.")


if __name__ == "__main__":
    main()
