"""rnatools models: every model, where its weights were found, and its licence."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rnatools.cli.console import stdout
from rnatools.errors import MissingWeightsError
from rnatools.models.registry import KINDS, MODELS, find_weights


def models(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")
    ] = False,
) -> None:
    """List the models rnatools knows, where their weights were found, and their licences.

    rnatools ships no weights: each model's weights are installed by the user and found through
    an environment variable (or, for SpliceAI, the installed spliceai package).
    """
    rows = []
    for info in MODELS.values():
        try:
            found = find_weights(info.name)
        except MissingWeightsError:
            found = None
        rows.append(
            {
                "name": info.name,
                "kind": info.kind,
                "description": info.description,
                "weights": None if found is None else str(found),
                "found": found is not None,
                "how_to_get": info.how_to_get,
                "env_var": info.env_var,
                "licence": info.licence,
                "paper": info.paper,
                "doi": info.doi,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="rnatools models", show_lines=True)
    table.add_column("model", no_wrap=True)
    table.add_column("weights", overflow="fold")
    table.add_column("licence", overflow="fold")
    table.add_column("paper", overflow="fold")
    for row in rows:
        weights = (
            f"[green]{escape(row['weights'])}[/green]"
            if row["found"]
            else f"[red]not found[/red]: {escape(row['how_to_get'])}"
        )
        model = f"{row['name']}\n[dim]{KINDS[row['kind']]}[/dim]"
        table.add_row(model, weights, escape(row["licence"]), f"doi:{row['doi']}")
    # markup=True: the cells are escaped user text inside rnatools' own colour tags; no emoji.
    stdout.print(table, markup=True, soft_wrap=False)


def register(app: typer.Typer) -> None:
    """Add ``rnatools models`` to ``app``."""
    app.command("models")(models)
