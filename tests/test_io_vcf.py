"""rnatools.io.vcf: records paired with their lines; a writer whose bytes equal pysam's."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

from rnatools.errors import InputError
from rnatools.io.vcf import (
    SPLICEAI_INFO_HEADER,
    MalformedRecord,
    VcfWriter,
    check_data_line,
    iter_numbered,
    iter_records,
    open_vcf,
    replace_info_header,
)

HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=chr1,length=10000000>",
    '##INFO=<ID=NOTE,Number=1,Type=String,Description="padding">',
    '##INFO=<ID=AF,Number=A,Type=Float,Description="frequency">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2",
]


def _vcf(path: Path, records: int, long_every: int = 0) -> Path:
    rng = np.random.default_rng(11)
    lines = list(HEADER)
    for i, pos in enumerate(np.sort(rng.integers(1, 5_000_000, size=records))):
        size = 100_000 if long_every and i % long_every == 0 else int(rng.integers(1, 400))
        lines.append(
            f"chr1\t{pos}\tr{i}\tA\tG,T\t{int(rng.integers(0, 99))}.50\tPASS\t"
            f"NOTE={'x' * size};AF=0.1,0.25\tGT\t0/1\t1|1"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("suffix", ["vcf", "vcf.gz"])
@pytest.mark.parametrize(("records", "long_every"), [(0, 0), (3000, 0), (40, 7)])
def test_bytes_equal_pysams_writer(tmp_path, suffix, records, long_every):
    """Text and BGZF framing as htslib writes them (lines longer than a block included)."""
    source = _vcf(tmp_path / "in.vcf", records, long_every)
    key = '##INFO=<ID=T,Number=1,Type=Integer,Description="t">'
    ours, theirs = tmp_path / f"ours.{suffix}", tmp_path / f"theirs.{suffix}"
    with open_vcf(source) as vcf:
        vcf.header.add_line(key)
        with VcfWriter(ours, vcf.header) as writer:
            for record in vcf:
                record.info["T"] = record.pos % 7
                writer.write(record)
    with pysam.VariantFile(str(source)) as vcf:
        vcf.header.add_line(key)
        mode = "wz" if suffix.endswith("gz") else "w"
        with pysam.VariantFile(str(theirs), mode, header=vcf.header) as out:
            for record in vcf:
                record.info["T"] = record.pos % 7
                out.write(record)
    assert ours.read_bytes() == theirs.read_bytes()


def test_stdout_output_is_the_same_text(tmp_path, capsysbinary):
    source = _vcf(tmp_path / "in.vcf", 5)
    with open_vcf(source) as vcf, VcfWriter("-", vcf.header) as writer:
        for record in vcf:
            writer.write(record)
    theirs = tmp_path / "theirs.vcf"
    with pysam.VariantFile(str(source)) as vcf:
        with pysam.VariantFile(str(theirs), "w", header=vcf.header) as out:
            for record in vcf:
                out.write(record)
    assert capsysbinary.readouterr().out == theirs.read_bytes()


def test_lines_are_counted_in_every_kind_of_input(tmp_path, monkeypatch):
    text = "\n".join([*HEADER[:-1], HEADER[-1].split("\tFORMAT")[0]]) + "\n"
    body = "chr1\t5\ta\tA\tG\t.\t.\t.\nchr1\t6\tb\tA\tT\t.\t.\t.\n"
    plain = tmp_path / "in.vcf"
    plain.write_text(text + body)
    bgzf = tmp_path / "in.bgzf.vcf.gz"
    pysam.tabix_compress(str(plain), str(bgzf))
    pysam.tabix_index(str(bgzf), preset="vcf")
    gz = tmp_path / "in.gzip.vcf.gz"
    gz.write_bytes(gzip.compress((text + body).encode()))
    expected = [(7, "a"), (8, "b")]
    for path, kind in ((plain, "text"), (bgzf, "bgzf"), (gz, "gzip")):
        with open_vcf(path) as vcf:
            assert vcf.kind == kind
            assert [(line, record.id) for line, record in iter_numbered(vcf)] == expected
    with open_vcf(bgzf) as vcf:  # indexed: region queries work, without line numbers
        assert [r.id for r in vcf.fetch("chr1", 5, 6)] == ["b"] and vcf.line is None
    for data in (text + body, gzip.compress((text + body).encode())):
        raw = data if isinstance(data, bytes) else data.encode()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
        with open_vcf("-") as vcf:
            assert vcf.kind == "stdin"
            assert [(line, record.id) for line, record in iter_numbered(vcf)] == expected


def test_bcf_input_has_no_line_numbers(tmp_path):
    source = _vcf(tmp_path / "in.vcf", 3)
    bcf = tmp_path / "in.bcf"
    with (
        pysam.VariantFile(str(source)) as vcf,
        pysam.VariantFile(str(bcf), "wb", header=vcf.header) as out,
    ):  # noqa: E501
        for record in vcf:
            out.write(record)
    with open_vcf(bcf) as vcf:
        assert vcf.kind == "bcf"
        assert [line for line, _ in iter_numbered(vcf)] == [None, None, None]


def test_truncated_bgzip_is_an_input_error(tmp_path):
    source = _vcf(tmp_path / "in.vcf", 3000)
    whole = tmp_path / "in.vcf.gz"
    pysam.tabix_compress(str(source), str(whole))
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    with pytest.raises(InputError, match="truncated"):
        with open_vcf(cut) as vcf:
            for _ in iter_records(vcf, cut):
                pass


def test_check_data_line():
    assert check_data_line(b"chr1\t5\t.\tA\tG\t.\t.\t.") is None
    assert check_data_line(b"  ") == "blank line"
    assert "5 columns" in check_data_line(b"chr1\t5\t.\tA\tG")
    assert "spaces" in check_data_line(b"chr1 5 . A G . . .")
    assert "not a number" in check_data_line(b"chr1\t5a\t.\tA\tG\t.\t.\t.")
    assert check_data_line(b"chr1\t5\t.\t\tG\t.\t.\t.") == "empty REF"


def test_malformed_line_does_not_leave_a_contig_in_the_header(tmp_path):
    path = tmp_path / "in.vcf"
    lines = [*HEADER[:-1], HEADER[-1].split("\tFORMAT")[0]]
    path.write_text(
        "\n".join([*lines, "chr1 5 a A G . . .", "", "chr1\t6\tb\tA\tG\t.\t.\t."]) + "\n"
    )
    with open_vcf(path) as vcf:
        items = list(iter_records(vcf, path))
        assert isinstance(items[0], MalformedRecord) and items[1].id == "b"
        assert "##contig=<ID=chr1 5" not in str(vcf.header)
        assert "##contig=<ID=>" not in str(vcf.header)


def test_bcf_output_needs_declared_names(tmp_path):
    path = tmp_path / "in.vcf"
    lines = [*HEADER[:-1], HEADER[-1].split("\tFORMAT")[0]]
    path.write_text("\n".join([*lines, "chr1\t5\tsv\tA\t<DEL>\t.\t.\t."]) + "\n")
    with open_vcf(path) as vcf, pytest.raises(InputError, match="INFO END"):
        with VcfWriter(tmp_path / "out.bcf", vcf.header) as writer:
            for record in vcf:
                writer.write(record)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf"]
    with open_vcf(path) as vcf, pytest.raises(InputError, match=r"\.bcf"):
        with VcfWriter(tmp_path / "out.bcf", vcf.header) as writer:
            writer.write_line("not a record")


def test_write_line_passes_text_through_and_undecodable_bytes_survive(tmp_path):
    path = tmp_path / "in.vcf"
    lines = [*HEADER[:-1], HEADER[-1].split("\tFORMAT")[0]]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"chr1\t5\tcaf\xe9\tA\tG\t.\t.\t.\n")
    output = tmp_path / "out.vcf"
    with open_vcf(path) as vcf, VcfWriter(output, vcf.header) as writer:
        for record in vcf:
            writer.write(record)
        writer.write_line("chr1 6 raw A G . . .")
    assert output.read_bytes().endswith(b"chr1\t5\tcaf\xe9\tA\tG\t.\t.\t.\nchr1 6 raw A G . . .\n")
    assert writer.records == 2


def test_replace_info_header_is_idempotent(tmp_path):
    header = pysam.VariantHeader()
    header.add_line('##INFO=<ID=SpliceAI,Number=1,Type=Float,Description="old">')
    assert replace_info_header(header, [SPLICEAI_INFO_HEADER]) == ["SpliceAI"]
    assert replace_info_header(header, [SPLICEAI_INFO_HEADER]) == []
    assert str(header).count("ID=SpliceAI") == 1
