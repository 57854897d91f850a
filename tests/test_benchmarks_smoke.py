"""The benchmarks' shared JSON writer and output comparison (no model runs, no GPU)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _common  # noqa: E402
import precision  # noqa: E402


def test_write_json_has_the_documented_fields(tmp_path):
    env = _common.environment(device="cpu", precision="fp32", threads=2)
    rows = [
        {"label": "rnatools", "snvs": 30, "seconds": 2.5, "snvs_per_s": 12.0, "peak_rss_mb": 400.0},
        {"label": "baseline", "snvs": 30, "seconds": 5.0, "snvs_per_s": 6.0, "peak_rss_mb": 900.0},
    ]
    path = tmp_path / "sub" / "bench.json"
    _common.write_json(
        path, "snv_dense", env=env, results=rows,
        comparison={"figure": "speedup_vs_baseline", "value": 2.0},
    )
    document = json.loads(path.read_text())
    for key in ("schema", "benchmark", "snvs_per_s", "seconds", "peak_rss_mb", "device",
                "precision", "threads", "torch_version", "rnatools_version", "git_commit",
                "hostname", "date", "comparison", "results"):
        assert key in document, key
    assert document["schema"] == _common.SCHEMA
    assert document["snvs_per_s"] == 12.0 and document["seconds"] == 2.5
    assert document["peak_rss_mb"] == 400.0  # the headline's (first result's), not the max
    assert "records_per_s" not in document and "nt_per_s" not in document
    assert document["comparison"]["value"] == 2.0
    assert document["threads"] == 2 and document["device"] == "cpu"
    assert document["git_commit"] == "-" or len(document["git_commit"]) == 40
    assert not list(path.parent.glob(".*.tmp"))  # written atomically, no temporary left


def test_merge_json_lists_missing_files(tmp_path):
    env = _common.environment(device="cpu", precision="fp32", threads=0)
    _common.write_json(tmp_path / "a.json", "a", env=env,
                       results=[{"nt_per_s": 5.0, "seconds": 1.0}], peak_rss=10.0)
    merged = _common.merge_json([tmp_path / "a.json", tmp_path / "b.json"],
                                tmp_path / "all.json", suite={"device": "cpu"})
    assert list(merged["benchmarks"]) == ["a"]
    assert merged["benchmarks"]["a"]["nt_per_s"] == 5.0
    assert [m["file"] for m in merged["missing"]] == ["b.json"]
    assert json.loads((tmp_path / "all.json").read_text())["suite"] == {"device": "cpu"}


def test_info_values_and_ds_comparison(tmp_path):
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    fp32 = tmp_path / "fp32.vcf"
    bf16 = tmp_path / "bf16.vcf"
    fp32.write_text(header
                    + "1\t5\t.\tA\tG\t.\t.\tX=1;SpliceAI=G|GENE|0.10|0.00|0.50|0.00|1|-2|3|4\n"
                    + "1\t6\t.\tA\tC\t.\t.\t.\n")
    bf16.write_text(header
                    + "1\t5\t.\tA\tG\t.\t.\tX=1;SpliceAI=G|GENE|0.11|0.00|0.47|0.00|1|-2|5|4\n"
                    + "1\t6\t.\tA\tC\t.\t.\t.\n")
    a, b = _common.spliceai_info_values(fp32), _common.spliceai_info_values(bf16)
    assert a == [["G|GENE|0.10|0.00|0.50|0.00|1|-2|3|4"], []]
    stats = precision.compare_ds(a, b)
    assert stats["ds_fields"] == 4
    assert stats["ds_fraction_differ"] == 0.5  # DS_AG and DS_DG
    assert stats["ds_fraction_off_by_more_than_0.01"] == 0.25  # only DS_DG (0.03)
    assert stats["ds_max_abs_diff"] == pytest.approx(0.03)
    assert stats["ds_mean_abs_diff"] == pytest.approx(0.01)
    assert stats["dp_fraction_differ"] == 0.25
    assert stats["entries_unpaired"] == 0


def test_first_records_copies_header_and_n_lines(tmp_path):
    source = tmp_path / "in.vcf"
    source.write_text("##x\n#CHROM\n" + "".join(f"1\t{i}\t.\tA\tC\t.\t.\t.\n" for i in range(5)))
    assert _common.first_records(source, tmp_path / "out.vcf", 2) == 2
    assert _common.count_records(tmp_path / "out.vcf") == 2
    assert (tmp_path / "out.vcf").read_text().startswith("##x\n#CHROM\n1\t0\t")
