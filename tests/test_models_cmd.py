"""rnatools models: the registry table and its JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.errors import MissingWeightsError, UsageError
from rnatools.models import spliceai_weights
from rnatools.models.registry import (
    MODELS,
    find_weights,
    get_model_info,
    load_model,
    model_names,
)

EXPECTED = {
    "spliceai": ("RNATOOLS_SPLICEAI_WEIGHTS", "10.1016/j.cell.2018.12.015"),
    **{
        name: ("RNATOOLS_OPENSPLICEAI_WEIGHTS", "10.7554/eLife.107454")
        for name in ("openspliceai-mane", *(f"openspliceai-mane-{f}" for f in (80, 400, 2000)))
    },
    "openspliceai-mane-10000": ("RNATOOLS_OPENSPLICEAI_WEIGHTS", "10.7554/eLife.107454"),
    "pangolin": ("RNATOOLS_PANGOLIN_WEIGHTS", "10.1186/s13059-022-02664-4"),
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
    assert "GPL-3.0" in MODELS["pangolin"].licence
    assert "GPL-3.0" in MODELS["openspliceai-mane-80"].licence
    with pytest.raises(UsageError, match="known: spliceai"):
        get_model_info("nosuchmodel")


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
    installed = spliceai_weights.installed_weights()
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


def test_kinds_and_names_by_kind():
    splice = [n for n in EXPECTED if n.startswith(("spliceai", "openspliceai", "pangolin"))]
    assert {name: m.kind for name, m in MODELS.items()} == {
        **{name: "splice" for name in splice},
        "splicebert": "mlm",
        "splicebert-510": "mlm",
        "splicebert-human-510": "mlm",
        "rnabert": "mlm",
        "rnamsm": "mlm",
    }
    assert model_names("splice") == splice
    assert model_names() == list(EXPECTED)
    with pytest.raises(UsageError, match="unknown masked language model 'spliceai'") as info:
        get_model_info("spliceai", kind="mlm")
    assert info.value.parameter == "model"


def test_find_weights_order_and_errors(clean_env, tmp_path):
    explicit, from_env = tmp_path / "explicit.pth", tmp_path / "env"
    explicit.write_bytes(b"")
    from_env.mkdir()
    with pytest.raises(MissingWeightsError, match=r"\$RNATOOLS_RNABERT_WEIGHTS; download") as info:
        find_weights("rnabert", parameter="lm_weights")
    assert info.value.parameter == "lm_weights" and info.value.exit_code == 3
    assert "--" not in str(info.value)  # no command-line flag in library messages
    clean_env.setenv("RNATOOLS_RNABERT_WEIGHTS", str(from_env))
    assert find_weights("rnabert") == from_env
    assert find_weights("rnabert", explicit) == explicit  # an explicit path wins
    with pytest.raises(MissingWeightsError, match="absent do not exist") as info:
        find_weights("rnabert", tmp_path / "absent")
    assert info.value.parameter == "weights"
    clean_env.setenv("RNATOOLS_RNABERT_WEIGHTS", str(tmp_path / "gone"))
    with pytest.raises(MissingWeightsError, match=r"\$RNATOOLS_RNABERT_WEIGHTS .*gone"):
        find_weights("rnabert")  # a set variable that points nowhere does not fall through


def test_spliceai_default_and_layout(clean_env, tmp_path):
    installed = spliceai_weights.installed_weights()
    if installed is not None:
        assert find_weights("spliceai") == installed[0].parent
        assert MODELS["spliceai"].weight_files(installed[0].parent) == installed
    (tmp_path / "spliceai1.h5").write_bytes(b"")
    assert spliceai_weights.weight_files(tmp_path / "spliceai1.h5") == [tmp_path / "spliceai1.h5"]
    with pytest.raises(MissingWeightsError, match="missing spliceai2.h5, spliceai3.h5"):
        spliceai_weights.weight_files(tmp_path)
    clean_env.setattr(spliceai_weights, "installed_weights", lambda: None)
    with pytest.raises(MissingWeightsError, match=r"RNATOOLS_SPLICEAI_WEIGHTS.*pip install"):
        find_weights("spliceai")


def test_load_model_hands_the_engine_to_the_loader(tmp_path):
    from rnatools.engine import Engine

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UsageError, match="takes no model options, got pad_to_max"):
        load_model("splicebert", tmp_path, engine=Engine("cpu"), pad_to_max=True)
