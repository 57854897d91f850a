"""rnatools.io.atomic: complete file or nothing; stdout for '-'; gzip by extension."""

from __future__ import annotations

import errno
import gzip
import io
import os
import sys
from pathlib import Path

import pytest

from rnatools.errors import OutputError, StdoutClosed
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


def test_missing_folder_is_an_output_error_naming_the_path(tmp_path: Path) -> None:
    target = tmp_path / "absent" / "h.txt"
    with pytest.raises(OutputError) as error, atomic_output(target):
        pass
    assert error.value.exit_code == 4
    assert str(error.value).startswith(f"{target}: ") and "does not exist" in str(error.value)


def test_disk_full_while_writing_and_at_close(tmp_path: Path, monkeypatch) -> None:
    # while writing: an errno that only a full disk gives
    with pytest.raises(OutputError, match="No space left on device"):
        with atomic_output(tmp_path / "a.tsv") as handle:
            handle.write("x\n")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []

    # at close: the final flush fails
    real_replace = os.replace

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match=r"b\.tsv: cannot write \(No space left on device\)"):
        with atomic_output(tmp_path / "b.tsv") as handle:
            handle.write("y\n")
    monkeypatch.setattr(os, "replace", real_replace)
    assert list(tmp_path.iterdir()) == []


def test_other_errors_in_the_block_pass_unchanged(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_output(tmp_path / "c.tsv"):
        raise FileNotFoundError(errno.ENOENT, "an input is missing", "in.bed")
    assert list(tmp_path.iterdir()) == []


def test_closed_stdout_raises_stdout_closed(monkeypatch) -> None:
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    with pytest.raises(StdoutClosed), atomic_output("-") as handle:
        handle.write("x\n")


def test_undecodable_bytes_round_trip(tmp_path: Path) -> None:
    # pysam hands non-UTF-8 bytes out as surrogate escapes; they are written back as bytes
    with atomic_output(tmp_path / "d.tsv") as handle:
        handle.write(b"caf\xe9\n".decode("utf-8", "surrogateescape"))
    assert (tmp_path / "d.tsv").read_bytes() == b"caf\xe9\n"
