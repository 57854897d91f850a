"""rnatools models: every model, where its weights were found, and its licence."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's subcommand(s) to ``app``."""
