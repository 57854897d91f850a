"""rnatools models: the registry table and its JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.errors import UsageError
from rnatools.models import spliceai
from rnatools.models.registry import MODELS, get_model_info

EXPECTED = {
    "spliceai": ("RNATOOLS_SPLICEAI_WEIGHTS", "10.1016/j.cell.2018.12.015"),
    "splicebert": ("RNATOOLS_SPLICEBERT_WEIGHTS", "10.1093/bib/bbae163"),
    "splicebert-510": ("RNATOOLS_SPLICEBERT_WEIGHTS", "10.1093/bib/bbae163"),
    "splicebert-human-510": ("RNATOOLS_SPLICEBERT_WEIGHTS", "10.1093/bib/bbae163"),
    "rnabert": ("RNATOOLS_RNABERT_WEIGHTS", "10.1093/nargab/lqac012"),
    "rnamsm": ("RNATOOLS_RNAMSM_WEIGHTS", "10.1093/nar/gkad1031"),
}


@pytest.fixture
def clean_env(monkeypatch):
    for env_var, _ in EXPECTED.values():
        monkeypatch.delenv(env_var, raising=False)
    return monkeypatch


def test_registry_lists_every_model():
    assert {name: (m.env_var, m.doi) for name, m in MODELS.items()} == EXPECTED
    assert "CC BY-NC 4.0" in MODELS["spliceai"].licence
    with pytest.raises(UsageError, match="known: spliceai"):
        get_model_info("pangolin")


def test_json_reports_where_weights_are(clean_env, tmp_path):
    folder = tmp_path / "splicebert"
    folder.mkdir()
    clean_env.setenv("RNATOOLS_SPLICEBERT_WEIGHTS", str(folder))
    clean_env.setenv("RNATOOLS_RNABERT_WEIGHTS", str(tmp_path / "absent.pth"))
    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert list(rows) == list(EXPECTED)
    assert rows["splicebert"]["weights"] == str(folder) and rows["splicebert"]["found"]
    assert rows["splicebert-human-510"]["found"]
    assert not rows["rnabert"]["found"] and rows["rnabert"]["weights"] is None
    assert "RNATOOLS_RNABERT_WEIGHTS" in rows["rnabert"]["how_to_get"]
    installed = spliceai.installed_weights()
    if installed is None:
        assert not rows["spliceai"]["found"]
    else:
        assert rows["spliceai"]["weights"] == str(installed[0].parent)


def test_spliceai_env_var_wins_and_missing_says_how(clean_env, tmp_path):
    clean_env.setenv("RNATOOLS_SPLICEAI_WEIGHTS", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["models", "--json"])
    row = json.loads(result.stdout)[0]
    assert row["name"] == "spliceai" and not row["found"]
    assert "pip install 'rnatools[spliceai]'" in row["how_to_get"]


def test_table_names_every_model(clean_env):
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    for name in EXPECTED:
        assert name in result.stdout
    assert "not found" in result.stdout  # the LM weights are not set in this environment
    assert "CC BY-NC 4.0" in result.stdout
