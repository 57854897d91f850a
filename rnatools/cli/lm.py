"""rnatools embed / mlm / ism: masked RNA language models."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's subcommand(s) to ``app``."""
