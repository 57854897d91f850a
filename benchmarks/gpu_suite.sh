#!/usr/bin/env bash
# Every benchmark of benchmarks/ on CUDA, sized to finish in under 8 minutes on one H200, merged
# into one JSON file.
#
#   benchmarks/gpu_suite.sh [OUT.json]          # default: gpu_suite.json (run from anywhere)
#
# Each benchmark runs under `timeout` (its own limit below; the limits add up to 460 s), writes
# its own JSON (benchmarks/README.md), and the suite merges them into OUT.json:
# {"schema", "suite": {device, sizes, ...}, "runs": [{benchmark, exit, seconds, log_tail}],
#  "benchmarks": {name: that benchmark's JSON}, "missing": [...]}. A benchmark that fails or runs
# out of time is listed under "runs" with its exit status (124 = timeout) and the end of its log,
# and the suite goes on. Exit status: 0 when every benchmark wrote its JSON, 1 otherwise, 2 when
# CUDA is asked for but absent.
#
# Environment variables (defaults in brackets; sizes for an H200):
#   DEVICE             cuda | cuda:N | cpu  [cuda]  (cpu: smoke-test the suite without a GPU)
#   PYTHON             interpreter with torch  [python3, or .venv/bin/python when present]
#   THREADS            --threads of every benchmark  [0 = library default]
#   ONLY               space-separated subset, e.g. "snv_dense precision"  [all]
#   KEEP               folder to keep the per-benchmark JSONs and logs in  [a temporary one]
#   SYNTH_RECORDS      annotate_vs_spliceai: first N records of the synthetic fixture  [all 242]
#   PREDICT_SIZE       predict_throughput: nt per strand  [2000000]
#   PREDICT_BATCH      predict_throughput: --batch-size  [64]
#   LM_POSITIONS       lm_zero_shot: positions (3 SNVs each), fp32 and bf16  [2048]
#   MEMORY_RECORDS     annotate_memory: records (MEMORY_GENIC of them in genes)  [200000]
#   MEMORY_GENIC       [200]
#   SNV_EXONS          snv_dense: default (674 nt) | canonical (7,094 nt)  [canonical]
#   SNV_POSITIONS      snv_dense: first N positions  [all]
#   PRECISION_EXONS    precision: as SNV_EXONS  [canonical]
#   PRECISION_POSITIONS  precision: first N positions  [all]
#   MULTI_RECORDS      multi_model: first N ClinVar BRCA1 records  [all 1,041]
#   LOOKUP_RECORDS     precomputed_lookup (CPU only; run when the script exists)  [100000]
#   T_SYNTH T_PREDICT T_LM T_MEMORY T_SNV T_PRECISION T_MULTI T_LOOKUP: seconds each
#                      [45 45 45 60 75 90 100 20]
# Data: the synthetic fixture from $RNATOOLS_TEST_FIXTURES (else ../shared/fixtures), the
# OpenSpliceAI/Pangolin weights from their RNATOOLS_*_WEIGHTS variables or $RNATOOLS_TEST_WEIGHTS
# (else ../shared/data/weights), SpliceAI's from $RNATOOLS_SPLICEAI_WEIGHTS or the installed
# spliceai package. What is missing is reported, not fatal.
#
# CPU smoke test (seconds per benchmark):
#   DEVICE=cpu THREADS=1 SYNTH_RECORDS=2 PREDICT_SIZE=2000 LM_POSITIONS=1 MEMORY_RECORDS=200 \
#   MEMORY_GENIC=1 SNV_EXONS=default SNV_POSITIONS=2 PRECISION_EXONS=default \
#   PRECISION_POSITIONS=1 MULTI_RECORDS=1 LOOKUP_RECORDS=1000 benchmarks/gpu_suite.sh /tmp/s.json
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
OUT_JSON="${1:-gpu_suite.json}"
case "$OUT_JSON" in /*) ;; *) OUT_JSON="$PWD/$OUT_JSON" ;; esac
DEVICE="${DEVICE:-cuda}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
THREADS="${THREADS:-0}"
ONLY="${ONLY:-}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if [ "${DEVICE#cuda}" != "$DEVICE" ]; then
    if ! "$PYTHON" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
        echo "gpu_suite: no CUDA device for $PYTHON (torch.cuda.is_available() is False or" \
             "torch is missing); set DEVICE=cpu to smoke-test the suite on the CPU" >&2
        exit 2
    fi
fi

if [ -n "${KEEP:-}" ]; then
    WORK="$KEEP"; mkdir -p "$WORK"
else
    WORK="$(mktemp -d -t rnatools-gpu-suite-XXXXXX)"; trap 'rm -rf "$WORK"' EXIT
fi
: >"$WORK/runs.tsv"
SUITE_START=$(date +%s)

wanted() { [ -z "$ONLY" ] || case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# run NAME LIMIT_S ARGS...: one benchmark, its JSON in $WORK/NAME.json, its log in NAME.log.
run() {
    local name="$1" limit="$2"; shift 2
    wanted "$name" || return 0
    local started status
    started=$(date +%s)
    echo "== $name (limit ${limit}s): $*" >&2
    timeout --kill-after=10 "$limit" "$PYTHON" "$@" --json "$WORK/$name.json" \
        >"$WORK/$name.log" 2>&1
    status=$?
    printf '%s\t%s\t%s\n' "$name" "$status" "$(( $(date +%s) - started ))" >>"$WORK/runs.tsv"
    tail -n 5 "$WORK/$name.log" >&2
    echo "== $name: exit $status, $(( $(date +%s) - started )) s" >&2
}

B="$HERE"
if wanted annotate_vs_spliceai; then
    FIXTURES="${RNATOOLS_TEST_FIXTURES:-$(dirname "$REPO")/shared/fixtures}"
    SYNTH="$FIXTURES/spliceai_cli_synthetic"
    if [ -f "$SYNTH/in.vcf" ]; then
        SYNTH_IN="$SYNTH/in.vcf"; EXPECTED="$SYNTH/out.D50.vcf"
        if [ -n "${SYNTH_RECORDS:-}" ]; then
            SYNTH_IN="$WORK/synthetic.vcf"; EXPECTED=/dev/null
            "$PYTHON" -c "import sys; sys.path.insert(0, '$B'); import _common as c; \
c.first_records('$SYNTH/in.vcf', '$SYNTH_IN', int('$SYNTH_RECORDS'))"
        fi
        run annotate_vs_spliceai "${T_SYNTH:-45}" "$B/annotate_vs_spliceai.py" \
            --input "$SYNTH_IN" --fasta "$SYNTH/ref.fa" --annotation "$SYNTH/annot.txt" \
            --expected "$EXPECTED" --device "$DEVICE" --threads "$THREADS"
    else
        printf 'annotate_vs_spliceai\tskipped: no %s\t0\n' "$SYNTH/in.vcf" >>"$WORK/runs.tsv"
    fi
fi

PRECISIONS="fp32 bf16"; [ "$DEVICE" = cpu ] || PRECISIONS="fp32 bf16 fp16"
# shellcheck disable=SC2086
run predict_throughput "${T_PREDICT:-45}" "$B/predict_throughput.py" --device "$DEVICE" \
    --size "${PREDICT_SIZE:-2000000}" --batch-size "${PREDICT_BATCH:-64}" \
    --precision $PRECISIONS --threads "$THREADS"

LM_POS="${LM_POSITIONS:-2048}"
run lm_zero_shot "${T_LM:-45}" "$B/lm_zero_shot.py" --device "$DEVICE" \
    --positions "$LM_POS" --gpu-positions "$LM_POS" --threads "$THREADS"

run annotate_memory "${T_MEMORY:-60}" "$B/annotate_memory.py" --device "$DEVICE" \
    --records "${MEMORY_RECORDS:-200000}" --genic "${MEMORY_GENIC:-200}" --threads "$THREADS"

SNV_ARGS=(--exons "${SNV_EXONS:-canonical}")
[ -n "${SNV_POSITIONS:-}" ] && SNV_ARGS+=(--positions "$SNV_POSITIONS")
run snv_dense "${T_SNV:-75}" "$B/snv_dense.py" --device "$DEVICE" --threads "$THREADS" \
    "${SNV_ARGS[@]}"

PREC_ARGS=(--exons "${PRECISION_EXONS:-canonical}")
[ -n "${PRECISION_POSITIONS:-}" ] && PREC_ARGS+=(--positions "$PRECISION_POSITIONS")
run precision "${T_PRECISION:-90}" "$B/precision.py" --device "$DEVICE" --threads "$THREADS" \
    "${PREC_ARGS[@]}"

MULTI_ARGS=()
[ -n "${MULTI_RECORDS:-}" ] && MULTI_ARGS+=(--records "$MULTI_RECORDS")
run multi_model "${T_MULTI:-100}" "$B/multi_model.py" --device "$DEVICE" --threads "$THREADS" \
    ${MULTI_ARGS[@]+"${MULTI_ARGS[@]}"}

if [ -f "$B/precomputed_lookup.py" ]; then
    run precomputed_lookup "${T_LOOKUP:-20}" "$B/precomputed_lookup.py" \
        --records "${LOOKUP_RECORDS:-100000}"
fi

export GPU_SUITE_WORK="$WORK" GPU_SUITE_OUT="$OUT_JSON" GPU_SUITE_DEVICE="$DEVICE" \
    GPU_SUITE_SECONDS="$(( $(date +%s) - SUITE_START ))" GPU_SUITE_PYTHON="$PYTHON"
"$PYTHON" - "$B" <<'EOF'
import os, sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
import _common

work = Path(os.environ["GPU_SUITE_WORK"])
runs = []
for line in (work / "runs.tsv").read_text().splitlines():
    name, status, seconds = line.split("\t")
    log = work / f"{name}.log"
    tail = log.read_text(errors="replace").splitlines()[-8:] if log.is_file() else []
    runs.append({"benchmark": name, "exit": int(status) if status.isdigit() else status,
                 "seconds": int(seconds), "log_tail": tail})
sizes = {k: v for k, v in os.environ.items() if k.split("_")[0] in (
    "SYNTH", "PREDICT", "LM", "MEMORY", "SNV", "PRECISION", "MULTI", "LOOKUP", "T")
    or k in ("THREADS", "ONLY")}
merged = _common.merge_json(
    [work / f"{r['benchmark']}.json" for r in runs if isinstance(r["exit"], int)],
    os.environ["GPU_SUITE_OUT"],
    suite={"device": os.environ["GPU_SUITE_DEVICE"], "python": os.environ["GPU_SUITE_PYTHON"],
           "seconds": int(os.environ["GPU_SUITE_SECONDS"]), "settings": sizes},
    runs=runs,
)
failed = [r["benchmark"] for r in runs if r["exit"] != 0]
print(f"gpu_suite: {len(merged['benchmarks'])} benchmark JSONs in {os.environ['GPU_SUITE_OUT']}"
      f" ({os.environ['GPU_SUITE_SECONDS']} s)" + (f"; not written: {', '.join(failed)}"
                                                   if failed else ""), file=sys.stderr)
sys.exit(1 if failed else 0)
EOF
