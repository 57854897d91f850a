"""The bad-input matrix (issue 15): every failure mode a user can hit, one case each.

Each case asserts the exit code (README's table), that stderr holds no traceback, the message's
key words, and — for ``annotate`` runs that write an output — that the output's data lines are the
input's, in number and order. No case needs model weights unless it says so: records outside
every gene, or with a REF that does not fit the FASTA, never reach the model.

Signal and pipe cases run the command line in a subprocess (``python -m rnatools.cli.main``).
Cases marked ``xfail(reason="phase 2", strict=True)`` describe behaviour of the annotate pipeline
and the scorers that is being built; they flip to passing (and then fail as XPASS, to be
unmarked) when it lands.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pysam
import pytest
from typer.testing import CliRunner

from rnatools.cli import console
from rnatools.cli.main import app
from rnatools.errors import InputError, OutputError, OutputFolderMissingError
from rnatools.io.atomic import atomic_output, atomic_paths
from rnatools.io.vcf import (
    SPLICEAI_INFO_HEADER,
    MalformedRecord,
    VcfWriter,
    iter_records,
    open_vcf,
    shorten,
)
from rnatools.models.spliceai_weights import installed_weights

ROOT = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data" / "annotate"
FASTA = DATA / "chr19_grch37_small.fa.gz"
EXAMPLE = ROOT / "examples" / "brca1"

HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=19,length=1500000>\n"
    '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="type">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)
GENE_TABLE = (
    "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
    "G1\t19\t+\t1228000\t1229000\t1228000,\t1229000,\n"
)
GENIC_POS = 1_228_434  # inside G1
PHASE_2 = pytest.mark.xfail(reason="phase 2: annotate pipeline / scorers", strict=True)


# --- helpers -----------------------------------------------------------------------------------


def _bases() -> str:
    with pysam.FastaFile(str(FASTA)) as fasta:
        return fasta.fetch("chr19", 0, 1_300_000).upper()


BASES = _bases()


def ref(pos1: int, length: int = 1) -> str:
    """The reference at 1-based ``pos1`` (so that REF checks pass)."""
    return BASES[pos1 - 1 : pos1 - 1 + length]


def other(base: str) -> str:
    return "C" if base != "C" else "G"


def intergenic(count: int, start: int = 500_000, prefix: str = "r") -> list[str]:
    """``count`` SNV lines outside every gene, REF from the FASTA."""
    lines = []
    for i in range(count):
        pos = start + 7 * i
        base = ref(pos)
        lines.append(f"19\t{pos}\t{prefix}{i}\t{base}\t{other(base)}\t.\t.\t.")
    return lines


def vcf_text(lines: list[str], header: str = HEADER) -> str:
    return header + "".join(line + "\n" for line in lines)


def data_lines(path: Path) -> list[str]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8", errors="surrogateescape") as handle:
        return [line.rstrip("\n") for line in handle if not line.startswith("#")]


def columns(lines: list[str], count: int = 7) -> list[list[str]]:
    return [line.split("\t")[:count] for line in lines]


def invoke(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def annotate_args(source: Path, output: Path, table: Path, *extra) -> list:
    return ["annotate", "-i", source, "-o", output, "-f", FASTA, "-a", table, *extra]


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "genes.txt"
    path.write_text(GENE_TABLE)
    return path


def run_annotate(tmp_path: Path, table: Path, lines: list[str], *extra, name="out.vcf",
                 header: str = HEADER):  # fmt: skip
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(lines, header))
    output = tmp_path / name
    return invoke(*annotate_args(source, output, table, *extra)), source, output


def assert_clean(result, code: int, *words: str) -> None:
    """Exit code, no traceback, the key words in stderr."""
    stderr = result.stderr if hasattr(result, "stderr") else ""
    assert result.exit_code == code, (result.exit_code, result.output, stderr)
    assert "Traceback" not in stderr and "Traceback" not in result.output
    for word in words:
        assert word in stderr, (word, stderr)


def assert_records_kept(source: Path, output: Path) -> None:
    """Every input data line has its record in the output, in order (columns 1-7 as they were)."""
    assert columns(data_lines(output)) == columns(data_lines(source))


@contextlib.contextmanager
def cli(*args, **kwargs) -> Iterator[subprocess.Popen]:
    """``rnatools ARGS`` in a subprocess (stdout and stderr piped); killed if still running when
    the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rnatools.cli.main", *map(str, args)],
        stdin=kwargs.pop("stdin", subprocess.DEVNULL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(Exception):
            process.communicate(timeout=30)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this user cannot create files in (root ignores permission bits: use /sys)."""
    if os.geteuid() == 0:
        if not Path("/sys").is_dir():
            pytest.skip("running as root and no /sys to stand for a read-only folder")
        return Path("/sys")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- existing guarantees -------------------------------------------------------------------------


def test_ref_mismatch_is_skipped_and_written(tmp_path, table):
    base = ref(GENIC_POS)
    lines = [f"19\t{GENIC_POS}\tbad\t{other(base)}\tA\t.\t.\t.", *intergenic(2)]
    result, source, output = run_annotate(tmp_path, table, lines, "--skip-report", tmp_path / "s")
    assert_clean(result, 0, "ref_mismatch 1")
    assert_records_kept(source, output)
    assert (tmp_path / "s").read_text().splitlines()[1].endswith("\tref_mismatch")


def test_empty_vcf_gives_a_header_only_output(tmp_path, table):
    result, source, output = run_annotate(tmp_path, table, [])
    assert_clean(result, 0, "0 records")
    assert data_lines(output) == []
    assert output.read_text().splitlines()[-1].startswith("#CHROM")


def test_headerless_vcf_is_one_line_error_and_no_output(tmp_path, table):
    source = tmp_path / "in.vcf"
    source.write_text("\n".join(intergenic(2)) + "\n")
    output = tmp_path / "out.vcf"
    result = invoke(*annotate_args(source, output, table))
    assert_clean(result, 1, "header", str(source))
    assert len(result.stderr.strip().splitlines()) == 1
    assert not output.exists()


def test_zero_byte_vcf_is_said_to_be_empty(tmp_path, table):
    source = tmp_path / "in.vcf"
    source.write_bytes(b"")
    result = invoke(*annotate_args(source, tmp_path / "out.vcf", table))
    assert_clean(result, 1, "empty")


def test_same_bytes_twice(tmp_path, table):
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(intergenic(300)))
    outputs = []
    for run in range(2):
        output = tmp_path / f"out{run}.vcf.gz"
        result = invoke(*annotate_args(source, output, table, "--index", "tbi"))
        assert_clean(result, 0)
        outputs.append(output)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert Path(f"{outputs[0]}.tbi").read_bytes() == Path(f"{outputs[1]}.tbi").read_bytes()
    assert_records_kept(source, outputs[0])


@pytest.mark.skipif(installed_weights() is None, reason="needs the spliceai package")
def test_missing_weights_exit_3_names_the_option(tmp_path, table):
    base = ref(GENIC_POS)
    lines = [f"19\t{GENIC_POS}\tg\t{base}\t{other(base)}\t.\t.\t."]
    result, _, output = run_annotate(tmp_path, table, lines, "--weights", tmp_path / "nothing")
    assert_clean(result, 3, "--weights")
    assert not output.exists()


def test_kill_9_leaves_no_complete_looking_file(tmp_path, table):
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / "out.vcf.gz"
    with cli(*annotate_args("-", output, table), stdin=subprocess.PIPE) as process:
        process.stdin.write(vcf_text(intergenic(600)).encode())
        process.stdin.flush()  # stdin stays open: the run waits for more records
        wait_for(lambda: any(".tmp" in name for name in leftovers(folder)))
        process.kill()
        process.wait(timeout=30)
    assert not output.exists()
    assert all(name.startswith(".out.vcf.gz.") and ".tmp" in name for name in leftovers(folder))


# --- records lost or altered silently ----------------------------------------------------------


def test_symbolic_allele_after_the_first_block_without_end_header(tmp_path, table):
    # item 1: a <DEL> after 512 records of a VCF whose header has no END line
    lines = [*intergenic(600), "19\t600000\tsv\tN\t<DEL>\t.\t.\tSVTYPE=DEL"]
    lines[-1] = lines[-1].replace("\tN\t", f"\t{ref(600000)}\t")
    result, source, output = run_annotate(tmp_path, table, lines)
    assert_clean(result, 0)
    assert data_lines(output) == data_lines(source)  # every record, INFO as it was


def test_malformed_lines_are_an_error_naming_file_and_line(tmp_path, table):
    # item 2: five columns, a non-numeric POS, space-separated columns
    good = intergenic(3)
    lines = [good[0], "19\t500100\tfive\tA\tG", good[1], "19\tabc\tpos\tA\tG\t.\t.\t.", good[2]]
    result, source, output = run_annotate(tmp_path, table, lines)
    assert_clean(result, 1, f"{source}:6", "columns")
    assert not output.exists()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("19\t500100\tfive\tA\tG", ["5 columns", "8 tab-separated"]),
        ("19\tabc\tpos\tA\tG\t.\t.\t.", ["POS 'abc' is not a number"]),
        ("19 500100 spaces A G . . .", ["separated by spaces"]),
    ],
    ids=["five-columns", "pos-not-a-number", "spaces"],
)
def test_malformed_line_named_by_the_reader(tmp_path, line, words):
    # item 2, I/O half: a record or an error naming file, line and problem, never a silent drop
    good = intergenic(2)
    path = tmp_path / "in.vcf"
    path.write_text(vcf_text([good[0], line, good[1]]))
    with open_vcf(path) as vcf:
        items = [(item, getattr(vcf, "line", None)) for item in iter_records(vcf, path)]
    assert len(items) == 3
    malformed = items[1][0]
    assert isinstance(malformed, MalformedRecord)
    assert malformed.line == 6 and malformed.text == line and malformed.path == str(path)
    for word in words:
        assert word in malformed.message
    assert [line_ for item, line_ in items if not isinstance(item, MalformedRecord)] == [5, 7]
    error = malformed.error()
    assert isinstance(error, InputError) and str(error).startswith(f"{path}:6: ")
    with open_vcf(path) as vcf, pytest.raises(InputError, match=r":6: "):
        list(vcf)  # plain iteration stops at the first malformed line


def test_contig_not_in_the_fasta_is_its_own_reason(tmp_path, table):
    # item 3: RefSeq names, in neither FASTA nor annotation
    header = HEADER.replace("ID=19,", "ID=NC_000019.9,")
    lines = [line.replace("19\t", "NC_000019.9\t", 1) for line in intergenic(3)]
    result, _, _ = run_annotate(tmp_path, table, lines, header=header)
    assert_clean(result, 1, "NC_000019.9", "chr19")


def test_reannotation_replaces_old_entries(tmp_path, table):
    # item 4: an old SpliceAI= on a record the new run skips is removed, and counted
    header = HEADER.replace("#CHROM", SPLICEAI_INFO_HEADER + "\n#CHROM")
    lines = [line[:-1] + "SpliceAI=G|OLD|0.99|0.00|0.00|0.00|1|2|3|4" for line in intergenic(2)]
    result, source, output = run_annotate(tmp_path, table, lines, header=header)
    assert_clean(result, 0, "replaced")
    assert "OLD" not in output.read_text()
    assert_records_kept(source, output)


def test_iupac_alt_is_skipped_with_its_own_reason(tmp_path, table):
    # item 5
    base = ref(GENIC_POS)
    lines = [f"19\t{GENIC_POS}\tiupac\t{base}\tR\t.\t.\t."]
    # One network, not five: while R is still scored as N the run stays short.
    one = ["--weights", installed_weights()[0]] if installed_weights() else []
    result, source, output = run_annotate(
        tmp_path, table, lines, "--skip-report", tmp_path / "s", *one
    )
    assert_clean(result, 0, "iupac")
    assert_records_kept(source, output)


def test_passed_through_symbolic_record_gains_no_end(tmp_path, table):
    # item 6 (and 8: END= in INFO without an END header line)
    lines = [
        *intergenic(2),
        f"19\t600000\tsv1\t{ref(600000)}\t<DEL>\t.\t.\tSVTYPE=DEL",
        f"19\t600100\tsv2\t{ref(600100)}\t<DEL>\t.\t.\tSVTYPE=DEL;END=600300",
        f"19\t{GENIC_POS}\tsv3\t{ref(GENIC_POS)}\t<INS>\t.\t.\t.",
    ]
    for name in ("out.vcf", "out.vcf.gz"):
        result, source, output = run_annotate(tmp_path, table, lines, name=name)
        assert_clean(result, 0)
        assert data_lines(output) == data_lines(source)


def test_plain_gzip_input_is_read(tmp_path, table):
    # item 7: gzip, not bgzip
    source = tmp_path / "in.vcf.gz"
    text = vcf_text(intergenic(40))
    source.write_bytes(gzip.compress(text.encode()))
    output = tmp_path / "out.vcf"
    result = invoke(*annotate_args(source, output, table))
    assert_clean(result, 0, "40 records")
    assert columns(data_lines(output)) == columns(text.splitlines()[4:])


def test_plain_gzip_region_query_says_bgzip_and_tabix(tmp_path):
    source = tmp_path / "in.vcf.gz"
    source.write_bytes(gzip.compress(vcf_text(intergenic(3)).encode()))
    with open_vcf(source) as vcf, pytest.raises(InputError) as error:
        vcf.fetch("19", 0, 1000)
    message = str(error.value)
    assert "bgzip" in message and "tabix -p vcf" in message and "\n" not in message


def test_symbolic_with_end_but_no_end_header(tmp_path, table):
    # item 8: used to raise TypeError
    lines = [f"19\t600000\tsv\t{ref(600000)}\t<DEL>\t.\t.\tEND=600100", *intergenic(2)]
    result, source, output = run_annotate(tmp_path, table, lines)
    assert_clean(result, 0)
    assert data_lines(output) == data_lines(source)


# --- tracebacks and unclear failures -----------------------------------------------------------


def _fill_disk_at(limit: int):
    def limit_file_size() -> None:  # pragma: no cover - runs in the child
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


@pytest.mark.parametrize(
    ("name", "records", "limit"),
    [("out.vcf", 2, 200), ("out.vcf.gz", 3000, 2_000), ("out.bcf", 3000, 2_000)],
    ids=["vcf-full-at-close", "vcf.gz-full-while-writing", "bcf-full"],
)
def test_disk_full_is_an_io_error_without_temporaries(tmp_path, table, name, records, limit):
    # item 9: the file-size limit makes writes fail with EFBIG, as a full disk does
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(intergenic(records)))
    folder = tmp_path / "out"
    folder.mkdir()
    args = annotate_args(source, folder / name, table)
    with cli(*args, preexec_fn=_fill_disk_at(limit)) as process:
        _, stderr = process.communicate(timeout=120)
    text = stderr.decode()
    assert process.returncode == 4, text
    assert "Traceback" not in text and f"{folder / name}: cannot write" in text
    assert len(text.strip().splitlines()) == 1
    assert leftovers(folder) == []


@pytest.mark.parametrize("option", ["-o", "--skip-report"])
def test_missing_output_folder_is_an_io_error(tmp_path, table, option):
    # item 10 / 14: the same message and exit code for every output
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(intergenic(3)))
    missing = tmp_path / "absent" / "x.vcf"
    args = annotate_args(source, tmp_path / "out.vcf", table)
    if option == "-o":
        args[args.index("-o") + 1] = missing
    else:
        args += [option, missing]
    result = invoke(*args)
    assert_clean(result, 4, str(missing), "does not exist")
    assert len(result.stderr.strip().splitlines()) == 1
    assert leftovers(tmp_path) == ["genes.txt", "in.vcf"]


def test_windows_output_into_missing_folder_is_an_io_error(tmp_path):
    missing = tmp_path / "absent" / "w.fa"
    result = invoke(
        "windows", "--fasta", EXAMPLE / "GRCh38.chr17.brca1.fa.gz",
        "--region", "chr17:43044295-43044304", "-o", missing,
    )  # fmt: skip
    assert_clean(result, 4, str(missing), "does not exist")


@pytest.mark.parametrize("option", ["-o", "--skip-report"])
def test_read_only_output_folder_is_an_io_error(tmp_path, table, option):
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(intergenic(3)))
    target = unwritable_folder(tmp_path) / "x.vcf"
    args = annotate_args(source, tmp_path / "out.vcf", table)
    if option == "-o":
        args[args.index("-o") + 1] = target
    else:
        args += [option, target]
    result = invoke(*args)
    assert_clean(result, 4, str(target), "cannot")
    assert len(result.stderr.strip().splitlines()) == 1
    assert leftovers(tmp_path) == ["genes.txt", "in.vcf"]


def test_atomic_writers_translate_os_errors(tmp_path):
    with pytest.raises(OutputFolderMissingError) as missing:
        with atomic_output(tmp_path / "absent" / "x.tsv"):
            pass
    assert missing.value.exit_code == 4 and isinstance(missing.value, FileNotFoundError)
    with pytest.raises(OutputError, match="No space left"):
        with atomic_paths([tmp_path / "a.bw"]):
            raise OSError(28, os.strerror(28))
    assert leftovers(tmp_path) == []


def test_device_that_is_not_here_is_a_usage_error_before_work(tmp_path, table):
    # item 11
    for device in ("cuda:7", "foo"):
        result, _, output = run_annotate(tmp_path, table, intergenic(2), "--device", device)
        assert_clean(result, 2, "--device", device)
        assert not output.exists()


def test_user_text_is_never_markup(tmp_path, table):
    # item 11: ':x:' stays ':x:', '[red]' stays '[red]'
    result, _, _ = run_annotate(tmp_path, table, intergenic(2), "--device", "cuda:x:[red]")
    assert_clean(result, 2, "cuda:x:[red]")
    assert "❌" not in result.stderr


@pytest.mark.parametrize("overlap", ["--no-overlap", "--overlap"])
@pytest.mark.parametrize(
    ("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_signals_remove_temporaries_and_say_interrupted(tmp_path, table, sent, code, overlap):
    # item 12; with --overlap the reader thread is the one waiting for records
    folder = tmp_path / "out"
    folder.mkdir()
    args = annotate_args(
        "-", folder / "out.vcf.gz", table, "--skip-report", folder / "skips.tsv", overlap
    )
    with cli(*args, stdin=subprocess.PIPE) as process:
        process.stdin.write(vcf_text(intergenic(600)).encode())
        process.stdin.flush()  # and nothing more: the run waits for records
        wait_for(lambda: sum(".tmp" in name for name in leftovers(folder)) >= 2)
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=60)
    text = stderr.decode()
    assert process.returncode == code, text
    assert text.strip() == "interrupted"
    assert leftovers(folder) == []


@pytest.mark.parametrize("overlap", ["--no-overlap", "--overlap"])
def test_closed_stdout_stops_annotate_quietly(tmp_path, table, overlap):
    # item 13: rnatools annotate ... | head -1 (with --overlap the writer thread meets it)
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(intergenic(20_000)))
    with cli(*annotate_args(source, "-", table, overlap)) as process:
        assert process.stdout.readline().startswith(b"##fileformat")
        process.stdout.close()
        stderr = process.stderr.read()
        process.wait(timeout=120)
    text = stderr.decode()
    assert process.returncode == 141, text
    assert text == ""  # no traceback, no warnings, no summary: it stopped


@pytest.mark.skipif(installed_weights() is None, reason="needs the spliceai package")
def test_closed_stdout_stops_predict_quietly(tmp_path):
    # item 20: rnatools predict ... | head -2
    args = [
        "predict", "-f", EXAMPLE / "GRCh38.chr17.brca1.fa.gz", "--region",
        "chr17:43044295-43064294", "--weights", installed_weights()[0], "-o", "-",
        "--device", "cpu",
    ]  # fmt: skip
    with cli(*args) as process:
        process.stdout.readline()
        process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read()
        process.wait(timeout=300)
    text = stderr.decode()
    assert process.returncode == 141, text
    assert "Traceback" not in text and "error" not in text


def test_usage_error_names_the_flag_the_user_typed():
    # item 14 / 17: parameter -> flag, per command
    from rnatools.cli.main import describe, flag_for
    from rnatools.errors import MissingWeightsError, UsageError

    assert flag_for("max_distance") == "-d/--distance"
    assert flag_for("lm_weights") == "--lm-weights"
    error = UsageError("must be in 0-4999, got 7000", parameter="max_distance")
    assert describe(error) == "-d/--distance: must be in 0-4999, got 7000"
    plain = UsageError("options contradict each other")
    assert describe(plain) == "options contradict each other"
    missing = MissingWeightsError("weights /x do not exist", parameter="lm_weights")
    assert describe(missing).startswith("--lm-weights: ")


def test_drop_in_spliceai_names_its_own_flags():
    from typer.main import get_command

    from rnatools.cli.main import flag_for

    group = get_command(app)
    spliceai = group.get_command(None, "spliceai")  # type: ignore[arg-type]
    annotate = group.get_command(None, "annotate")  # type: ignore[arg-type]
    assert flag_for("max_distance", spliceai) == "-D"
    assert flag_for("max_distance", annotate) == "-d/--distance"
    assert flag_for("fasta", spliceai) == "-R"


def test_internal_error_is_one_line_exit_70(tmp_path, table, monkeypatch):
    # item 14: a bug says so in one line; the traceback only on request
    import rnatools.pipelines.annotate

    def bug(*args, **kwargs):
        raise ValueError("something impossible")

    monkeypatch.setattr(rnatools.pipelines.annotate, "run_annotate", bug)
    monkeypatch.delenv("RNATOOLS_TRACEBACK", raising=False)
    result, _, _ = run_annotate(tmp_path, table, intergenic(1))
    assert_clean(result, 70, "internal error: ValueError: something impossible", "please report")
    assert len(result.stderr.strip().splitlines()) == 1
    monkeypatch.setenv("RNATOOLS_TRACEBACK", "1")
    result, _, _ = run_annotate(tmp_path, table, intergenic(1))
    assert result.exit_code == 70 and "Traceback" in result.stderr


def test_weights_pointing_at_nothing_are_refused_up_front(tmp_path, table):
    # item 14: even when no record needs a model
    result, _, output = run_annotate(tmp_path, table, intergenic(2), "--weights", tmp_path / "x")
    assert_clean(result, 3, "--weights")
    assert not output.exists()


def test_regions_naming_a_contig_absent_from_the_input(tmp_path, table):
    # item 14
    result, _, _ = run_annotate(tmp_path, table, intergenic(2), "--regions", "7:1-1000")
    assert_clean(result, 2, "--regions", "7")


def test_no_htslib_noise_on_stderr(tmp_path, table):
    # item 15: undeclared INFO and contig, a bad line: rnatools' words only
    header = HEADER.replace('##INFO=<ID=SVTYPE,Number=1,Type=String,Description="type">\n', "")
    lines = [*intergenic(2), "19\tabc\tbad\tA\tG\t.\t.\t.", "7\t100\tu\tA\tG\t.\t.\tFOO=1"]
    result, _, _ = run_annotate(tmp_path, table, lines, header=header)
    assert "[E::" not in result.stderr and "[W::" not in result.stderr
    assert "Traceback" not in result.stderr


def test_warnings_are_one_line_each_in_narrow_terminals(tmp_path, table, monkeypatch):
    # item 15: no wrapping, whatever the width
    monkeypatch.setenv("COLUMNS", "40")
    lines = [*intergenic(2), "19\tabc\tbad\tA\tG\t.\t.\t."]
    result, _, _ = run_annotate(tmp_path, table, lines)
    for line in result.stderr.strip().splitlines():
        assert line.startswith("rnatools"), result.stderr


def test_skip_report_rows_of_malformed_lines_are_full(tmp_path, table):
    # item 15 (with an explicit opt-in to keep going) / item 21
    lines = [*intergenic(1), "19\t500100\tfive\tA\tG"]
    report = tmp_path / "s.tsv"
    result, _, _ = run_annotate(tmp_path, table, lines, "--skip-report", report, "--keep-malformed")
    rows = report.read_text().splitlines()[1:]
    assert rows and rows[-1].startswith("19\t500100\tfive\tA\tG\t")


def test_strict_stops_at_the_first_offending_record_and_names_its_line(tmp_path, table):
    # item 15
    base = ref(GENIC_POS)
    lines = [f"19\t{GENIC_POS}\tbad\t{other(base)}\tA\t.\t.\t.", *intergenic(600)]
    result, source, _ = run_annotate(tmp_path, table, lines, "--strict", "--block-size", "512")
    assert_clean(result, 1, f"{source}:5")


def test_other_build_is_a_loud_warning(tmp_path, table):
    # item 16: every REF wrong, nothing scored
    positions = range(GENIC_POS, GENIC_POS + 30)
    lines = [f"19\t{p}\tx{p}\t{other(ref(p))}\tA\t.\t.\t." for p in positions]
    result, _, _ = run_annotate(tmp_path, table, lines)
    assert_clean(result, 0, "build")


def test_splicebert_missing_weights_name_lm_weights(tmp_path, table):
    # item 17
    base = ref(GENIC_POS)
    lines = [f"19\t{GENIC_POS}\tg\t{base}\t{other(base)}\t.\t.\t."]
    config_only = tmp_path / "model"
    config_only.mkdir()
    (config_only / "config.json").write_text("{}")
    result, _, _ = run_annotate(
        tmp_path, table, lines, "--model", "splicebert", "--lm-weights", config_only
    )
    assert_clean(result, 3, "--lm-weights")
    assert "--weights " not in result.stderr


def test_plain_progress_lines_when_stderr_is_not_a_terminal(tmp_path, table, monkeypatch):
    # item 18, console half: a line per interval through the log (so --log keeps it too)
    monkeypatch.setattr(console, "PLAIN_PROGRESS_INTERVAL_S", 0.0)
    log = tmp_path / "run.log"
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(intergenic(1100)))
    result = invoke("--log", log, *annotate_args(source, tmp_path / "o.vcf", table))
    assert_clean(result, 0, "annotating: ", "records/s")
    assert "annotating: " in log.read_text()


def test_console_summary_goes_to_stderr_and_the_log(tmp_path, capsys):
    log = tmp_path / "run.log"
    console.setup_logging(log_file=log)
    try:
        console.summary("rnatools annotate: 3 records [in] 0.1 s :x:")
    finally:
        console.setup_logging()
    assert "rnatools annotate: 3 records [in] 0.1 s :x:" in capsys.readouterr().err
    assert "rnatools annotate: 3 records [in] 0.1 s :x:" in log.read_text()


def test_annotate_summary_line_is_in_the_log(tmp_path, table):
    # item 18: the CLI prints the summary through console.summary
    log = tmp_path / "run.log"
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(intergenic(3)))
    result = invoke("--log", log, *annotate_args(source, tmp_path / "o.vcf", table))
    assert_clean(result, 0)
    assert "rnatools annotate: 3 records" in log.read_text()


def test_long_alleles_are_shortened_in_the_skip_report(tmp_path, table):
    # item 21
    long_ref = ref(GENIC_POS, 3000)
    lines = [f"19\t{GENIC_POS}\tlong\t{long_ref}\tA\t.\t.\t."]
    report = tmp_path / "s.tsv"
    result, _, _ = run_annotate(tmp_path, table, lines, "--skip-report", report)
    assert_clean(result, 0)
    row = report.read_text().splitlines()[1]
    assert "(3000 nt)" in row and len(row) < 300


def test_shorten_keeps_short_text_and_gives_the_length():
    assert shorten("ACGT") == "ACGT"
    text = shorten("A" * 3000)
    assert text.endswith("…(3000 nt)") and len(text) <= 50


# --- found when tried as a new user would -------------------------------------------------------


def test_example_vcf_header_is_grch38_only():
    # item 22
    with pysam.VariantFile(str(EXAMPLE / "clinvar_brca1.grch38.vcf.gz")) as vcf:
        assert list(vcf.header.contigs) == ["chr17"]
        assert vcf.header.contigs["chr17"].length == 83_257_441


def test_snakemake_example_installs_from_the_repository():
    # item 22
    text = (ROOT / "examples" / "workflows" / "snakemake" / "README.md").read_text()
    assert "pip install 'rnatools[spliceai]'" not in text
    assert "pip install '.[spliceai]'" in text


def test_readme_gives_the_cpu_wheel_index_and_the_exit_codes():
    # items 23, 14
    text = (ROOT / "README.md").read_text()
    assert "https://download.pytorch.org/whl/cpu" in text
    assert "takes the CPU build" not in text
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 70 |", "| 130 |", "| 141 |",
                 "| 143 |"):  # fmt: skip
        assert code in text
    assert "What happens to records rnatools cannot score" in text


def test_parity_oracles_are_committed(monkeypatch):
    # item 24: a fresh clone (no ../shared) still finds the SpliceAI parity oracles
    import conftest

    monkeypatch.delenv("RNATOOLS_TEST_FIXTURES", raising=False)
    fixtures = conftest._fallback(
        "RNATOOLS_TEST_FIXTURES", conftest._CommittedFixtures, conftest.COMMITTED_FIXTURES
    )
    assert (fixtures / "spliceai_keras_oracle.npz").is_file()
    synthetic = fixtures / "spliceai_cli_synthetic"
    for name in ("in.vcf", "ref.fa", "annot.txt", "out.D50.vcf", "out.D500.vcf", "out.D50.M1.vcf"):
        assert (synthetic / name).is_file()
    total = sum(p.stat().st_size for p in conftest.COMMITTED_FIXTURES.rglob("*") if p.is_file())
    assert total < 5_000_000


# --- the writer and the reader on their own ------------------------------------------------------


def test_writer_replaces_old_entries_of_its_keys(tmp_path):
    # item 4, I/O half: the pipeline passes its keys and the new values
    header = HEADER.replace(
        "#CHROM", '##INFO=<ID=SpliceAI,Number=1,Type=Float,Description="old">\n#CHROM'
    )
    lines = [line[:-1] + "SpliceAI=0.5" for line in intergenic(3)]
    source = tmp_path / "in.vcf"
    source.write_text(vcf_text(lines, header))
    output = tmp_path / "out.vcf"
    with (
        open_vcf(source) as vcf,
        VcfWriter(output, vcf.header, info_lines=[SPLICEAI_INFO_HEADER]) as w,
    ):
        for number, record in enumerate(vcf):
            w.write(record, {"SpliceAI": ["G|NEW|0.10"] if number == 0 else None})
    assert w.replaced == 3
    text = output.read_text()
    assert text.count("##INFO=<ID=SpliceAI") == 1 and SPLICEAI_INFO_HEADER in text
    written = data_lines(output)
    assert written[0].endswith("\tSpliceAI=G|NEW|0.10")
    assert [line.split("\t")[7] for line in written[1:]] == [".", "."]


def test_stdin_and_blank_lines(tmp_path, monkeypatch):
    # standard input is streamed; a blank line holds no record and is skipped
    text = vcf_text([*intergenic(2), "", *intergenic(1, start=600_000, prefix="s")])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    with open_vcf("-") as vcf:
        found = [(vcf.line, item.id) for item in iter_records(vcf, "-")]
    assert found == [(5, "r0"), (6, "r1"), (8, "s0")]


def test_logging_handler_is_one_line(capsys):
    console.setup_logging()
    logging.getLogger("rnatools.test").warning("two\nlines [bold]:x:[/bold]")
    assert capsys.readouterr().err == "rnatools: warning: two lines [bold]:x:[/bold]\n"
