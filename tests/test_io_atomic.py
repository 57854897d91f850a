"""rnatools.io.atomic: complete file or nothing; stdout for '-'; gzip by extension."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from rnatools.io.atomic import atomic_output


def test_text_file_replaced_on_success(tmp_path: Path) -> None:
    out = tmp_path / "a.tsv"
    out.write_text("old\n")
    with atomic_output(out) as handle:
        handle.write("x\ty\n")
        assert out.read_text() == "old\n"  # not visible before the block ends
    assert out.read_text() == "x\ty\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.tsv"]
    assert out.stat().st_mode & 0o444 == 0o444  # readable like any new file, not 0600


def test_nothing_left_on_error(tmp_path: Path) -> None:
    out = tmp_path / "b.fa"
    with pytest.raises(RuntimeError), atomic_output(out) as handle:
        handle.write(">partial\n")
        raise RuntimeError("model failed")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_kept_on_error(tmp_path: Path) -> None:
    out = tmp_path / "c.txt"
    out.write_text("keep\n")
    with pytest.raises(KeyError), atomic_output(out):
        raise KeyError("x")
    assert out.read_text() == "keep\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.txt"]


def test_gzip_by_extension_and_binary(tmp_path: Path) -> None:
    with atomic_output(tmp_path / "d.tsv.gz") as handle:
        handle.write("gzipped\n")
    assert gzip.decompress((tmp_path / "d.tsv.gz").read_bytes()) == b"gzipped\n"
    with atomic_output(tmp_path / "e.bin", "wb") as handle:
        handle.write(b"\x00\x01")
    assert (tmp_path / "e.bin").read_bytes() == b"\x00\x01"
    with atomic_output(tmp_path / "f.gz", "wb", compress=False) as handle:
        handle.write(b"raw")
    assert (tmp_path / "f.gz").read_bytes() == b"raw"


def test_dash_is_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with atomic_output("-") as handle:
        handle.write("to stdout\n")
    assert capsys.readouterr().out == "to stdout\n"


def test_bad_mode_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be"), atomic_output(tmp_path / "g", "a"):  # type: ignore[arg-type]
        pass
    with pytest.raises(FileNotFoundError), atomic_output(tmp_path / "absent" / "h.txt"):
        pass
