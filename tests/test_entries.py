"""rnatools.scoring.entries: INFO entries parsed back into numbers.

The SpliceAI entries are those of the official SpliceAI 1.3.1 console script
(``tests/data/fixtures/spliceai_cli_synthetic/out.D50.vcf``); the Pangolin entries are the
strings of the original ``pangolin.py`` stored in the Pangolin oracle (skipped without it).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from rnatools.scoring.entries import (
    ENTRY_KEYS,
    DeltaEntry,
    PangolinEntry,
    entry_kind,
    max_score,
    parse_entries,
)

SPLICEAI_OUT = (
    Path(__file__).parent / "data" / "fixtures" / "spliceai_cli_synthetic" / "out.D50.vcf"
)


def _spliceai_values() -> list[tuple[str, str]]:
    """(record id, SpliceAI= value) of every annotated record of the official output."""
    values = []
    for line in SPLICEAI_OUT.read_text().splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        for item in fields[7].split(";"):
            if item.startswith("SpliceAI="):
                values.append((fields[2], item[len("SpliceAI=") :]))
    return values


def test_official_spliceai_entries_parse_back_to_the_text():
    from rnatools.scoring.delta import DeltaScores, format_entry

    values = _spliceai_values()
    assert len(values) == 236
    entries_seen = 0
    for _record, value in values:
        entries = parse_entries("SpliceAI", value)
        assert len(entries) == value.count(",") + 1
        for entry, text in zip(entries, value.split(","), strict=True):
            assert isinstance(entry, DeltaEntry)
            scores = None
            if entry.scores[0] is not None:
                scores = DeltaScores(*entry.scores, *entry.positions)
            assert format_entry(entry.allele, entry.gene, scores) == text
            entries_seen += 1
    assert entries_seen > 236  # some records have two genes or two ALTs


def test_values_of_known_records():
    by_id = dict(_spliceai_values())
    (entry,) = parse_entries("SpliceAI", by_id["SYNA_del_donor.8"])
    assert entry == DeltaEntry("C", "SYNA", (0.0, 0.0, 0.26, 1.0), (0, 3, 32, 2))
    assert entry.max_score == 1.0
    multi = parse_entries("SpliceAI", by_id["SYNA_multiallelic.20"])
    assert [(e.allele, e.positions[2]) for e in multi] == [("A", 13), ("C", 10)]
    (mnv,) = parse_entries("SpliceAI", by_id["SYNA_mnv.21"])
    assert mnv.scores == (None, None, None, None) and mnv.positions == (None,) * 4
    assert mnv.max_score is None
    assert max_score("SpliceAI", by_id["SYNA_mnv.21"]) is None
    assert max_score("SpliceAI", by_id["SYNA_ss1.13"]) == 0.97  # DS_AL of A|SYNA|0.52|0.97|...


def test_max_score_over_genes_and_pysam_tuples():
    value = "T|SYNC|0.00|0.00|0.00|0.01|-37|-31|-37|18,T|SYND|0.88|1.00|0.00|0.00|-2|-1|-2|0"
    assert max_score("SpliceAI", value) == 1.0
    assert max_score("SpliceAI", tuple(value.split(","))) == 1.0  # pysam splits Number=. values
    assert max_score("SpliceAI", parse_entries("SpliceAI", value)) == 1.0
    assert max_score("SpliceAI", None) is None
    assert max_score("SpliceAI", ".") is None
    assert parse_entries("SpliceAI", "") == []


def test_transcript_entries():
    value = (
        "A|BRCA1|ENST00000357654|MANE_Select|0.00|0.91|0.03|0.00|-2|1|12|-40,"
        "A|BRCA1|ENST00000471181|other|.|.|.|.|.|.|.|."
    )
    first, second = parse_entries("SpliceAI_TX", value)
    assert first.transcript == "ENST00000357654" and first.priority == "MANE_Select"
    assert first.scores == (0.0, 0.91, 0.03, 0.0) and first.positions == (-2, 1, 12, -40)
    assert second.max_score is None
    assert max_score("OpenSpliceAI_TX", value) == 0.91
    with pytest.raises(ValueError, match="12 '|'-separated fields"):
        parse_entries("SpliceAI_TX", "A|BRCA1|0.00|0.91|0.03|0.00|-2|1|12|-40")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("A|G|0.1|0.2|0.3|0.4|1|2|3", "10 '|'-separated fields expected, got 9"),
        ("A|G|0.1|x|0.3|0.4|1|2|3|4", "must be numbers"),
        ("A|G|0.1|0.2|0.3|0.4|1|2.5|3|4", "must be numbers"),
        ("A|G|0.1|0.2|nan|0.4|1|2|3|4", "outside"),
        ("|G|0.1|0.2|0.3|0.4|1|2|3|4", "empty allele"),
    ],
)
def test_malformed_delta_entries_name_the_entry(value, message):
    with pytest.raises(ValueError, match=message) as caught:
        parse_entries("SpliceAI", "A|G|0.00|0.00|0.00|0.00|1|2|3|4," + value)
    assert repr(value) in str(caught.value)


def test_pangolin_own_format_genes_and_alt_groups():
    value = (
        "ENSG1|-2:0.13|-50:-0.25|Warnings:|ENSG2|3:0.0|4:-0.5|Warnings:NoAnnotatedSitesToMask,"
        "ENSG1|1:0.2|2:-0.0|Warnings:"
    )
    entries = parse_entries("Pangolin", value, alts=["A", "T"])
    assert entries == [
        PangolinEntry("A", "ENSG1", -2, 0.13, -50, -0.25, ""),
        PangolinEntry("A", "ENSG2", 3, 0.0, 4, -0.5, "NoAnnotatedSitesToMask"),
        PangolinEntry("T", "ENSG1", 1, 0.2, 2, -0.0, ""),
    ]
    assert [e.max_score for e in entries] == [0.25, 0.5, 0.2]
    assert max_score("Pangolin", value) == 0.5
    assert parse_entries("Pangolin", value)[2].allele is None  # no alts: allele unknown
    with pytest.raises(ValueError, match="2 ALT groups"):
        parse_entries("Pangolin", value, alts=["A"])


def test_pangolin_number_a_groups_with_unscored_alleles():
    # rnatools' Pangolin key is Number=A: one group per ALT, '.' for an ALT without scores.
    value = ".,ENSG00000012048.23_1|-15:0.81|-2:-0.85|Warnings:"
    (entry,) = parse_entries("Pangolin", value, alts=["C", "G"])
    assert (entry.allele, entry.gain_position, entry.loss) == ("G", -15, -0.85)
    assert parse_entries("Pangolin", (".", None), alts=["C", "G"]) == []  # pysam's tuple
    assert max_score("Pangolin", ".,.") is None
    # Groups that name their alleles need not be one per ALT.
    named = "C|G1|1:0.1|2:-0.2|Warnings:,C|G2|1:0.3|2:0.0|Warnings:,G|G1|5:0.0|6:-0.4|Warnings:"
    entries = parse_entries("Pangolin", named, alts=["C", "G"])
    assert [(e.allele, e.gene, e.max_score) for e in entries] == [
        ("C", "G1", 0.2),
        ("C", "G2", 0.3),
        ("G", "G1", 0.4),
    ]


def test_pangolin_with_allele_and_transcript_names():
    (entry,) = parse_entries("Pangolin", "C|BRCA1|5:0.31|-7:-0.02|Warnings:")
    assert (entry.allele, entry.gene, entry.gain, entry.loss_position) == ("C", "BRCA1", 0.31, -7)
    (entry,) = parse_entries("Pangolin_TX", "C|BRCA1|ENST1|MANE_Select|5:0.31|-7:-0.02|Warnings:")
    assert (entry.transcript, entry.priority) == ("ENST1", "MANE_Select")
    for bad in ("BRCA1|5:0.31|Warnings:", "BRCA1|5:x|-7:-0.02|Warnings:", "BRCA1"):
        with pytest.raises(ValueError, match="Pangolin entry"):
            parse_entries("Pangolin", bad)


def test_pangolin_oracle_strings(fixtures_dir):
    oracle = fixtures_dir / "pangolin" / "pangolin_oracle.npz"
    if not oracle.exists():
        pytest.skip(f"Pangolin oracle not found at {oracle} (set RNATOOLS_TEST_FIXTURES)")
    import numpy as np

    data = np.load(oracle)
    strings = [str(s) for s in data["var_pangolin_mask_false"]]
    gains = data["var_gain_unmasked"]
    losses = data["var_loss_unmasked"]
    lengths = data["var_score_len"]
    for index, text in enumerate(strings):
        (entry,) = parse_entries("Pangolin", text)
        assert entry.gene == "ENSG00000012048.23_1"
        distance = 50
        gain_track = gains[index][: int(lengths[index])]
        loss_track = losses[index][: int(lengths[index])]
        assert entry.gain_position == int(np.nanargmax(gain_track)) - distance
        assert entry.loss_position == int(np.nanargmin(loss_track)) - distance
        assert math.isclose(entry.gain, float(np.nanmax(gain_track)), abs_tol=0.0051)
        assert math.isclose(entry.loss, float(np.nanmin(loss_track)), abs_tol=0.0051)
        assert entry.max_score == max(abs(entry.gain), abs(entry.loss))


def test_keys_and_kinds():
    assert ENTRY_KEYS["SpliceAI"] == "delta" and ENTRY_KEYS["OpenSpliceAI_TX"] == "delta_tx"
    assert ENTRY_KEYS["Pangolin"] == "pangolin" and ENTRY_KEYS["SpliceAI_RAW"] == "raw"
    assert entry_kind("MyModel_TX") == "delta_tx" and entry_kind("MyModel") == "delta"
    with pytest.raises(ValueError, match="raw-score entries"):
        parse_entries("SpliceAI_RAW", "A|G|0.1")


def test_module_imports_neither_numpy_nor_torch():
    code = (
        "import sys, rnatools.scoring.entries; "
        "print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
