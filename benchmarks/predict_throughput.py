"""Throughput of ``rnatools predict`` (SpliceAI, 5-network ensemble), in nucleotides per second.

Runs the library path that the command uses (chunking, one-hot encoding, batching, inference,
reverse complement for '-') over a random sequence of ``--size`` nt, on both strands, without
writing output. Examples::

    python benchmarks/predict_throughput.py                      # 1 Mb, CPU and CUDA if present
    python benchmarks/predict_throughput.py --size 100000 --device cpu --threads 2
    python benchmarks/predict_throughput.py --size 20000 --compare-conv   # conv2d vs conv1d

Prints one line per configuration and, with ``--json PATH``, writes the results as JSON
(``benchmarks/README.md``: the first configuration's ``nt_per_s`` at the top level, every
configuration under ``results``, peak RSS of this process).
"""

from __future__ import annotations

import argparse
import platform
import time

import _common as common
import numpy as np
import torch

from rnatools.engine import Engine, set_threads
from rnatools.genome import Interval
from rnatools.models.registry import load_model
from rnatools.scoring.splice_sites import (
    DEFAULT_CHUNK_SIZE,
    InMemorySequences,
    predict_splice_sites,
)


def measure(model, source, interval, engine, *, batch_size, chunk_size, strands):
    device = engine.device
    intervals = [interval.with_strand(s) for s in strands]
    # Warm-up on a short piece (allocations, oneDNN/cuDNN kernel choice).
    short = Interval(interval.chrom, 0, min(chunk_size, interval.length), "+")
    for _ in predict_splice_sites(model, source, [short], engine=engine,
                                  batch_size=batch_size, chunk_size=chunk_size):
        pass
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    total = 0
    for track in predict_splice_sites(model, source, intervals, engine=engine,
                                      batch_size=batch_size, chunk_size=chunk_size):
        total += track.end - track.start
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    return {"nt": total, "seconds": round(seconds, 3), "nt_per_s": round(total / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="region size in nt")
    parser.add_argument("--device", default="auto",
                        help="cpu, cuda, or auto = cpu and also cuda when present")
    parser.add_argument("--chunk-size", type=int, nargs="+", default=[DEFAULT_CHUNK_SIZE])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--precision", nargs="+", default=["fp32"])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--strand", choices=["+", "both"], default="both")
    parser.add_argument("--compare-conv", action="store_true",
                        help="also time conv1d (default kernel is conv2d)")
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args()

    set_threads(args.threads)
    rng = np.random.default_rng(0)
    sequence = "".join(rng.choice(list("ACGT"), size=args.size + 10_000))
    source = InMemorySequences([("bench", sequence)])
    interval = Interval("bench", 5000, 5000 + args.size)
    strands = ["+", "-"] if args.strand == "both" else ["+"]

    devices = ["cpu"]
    if args.device == "auto" and torch.cuda.is_available():
        devices.append("cuda")
    elif args.device != "auto":
        devices = [args.device]

    results = []
    for device_name in devices:
        model = load_model("spliceai", engine=Engine(device_name))
        kernels = [True, False] if args.compare_conv else [True]
        for conv2d in kernels:
            model.ensemble.set_conv2d(conv2d)
            for precision in args.precision:
                if precision == "fp16" and device_name == "cpu":
                    continue
                engine = Engine(device_name, precision)
                device = engine.device
                for chunk_size in args.chunk_size:
                    row = {
                        "device": str(device),
                        "device_name": torch.cuda.get_device_name(device)
                        if device.type == "cuda" else platform.processor() or platform.machine(),
                        "threads": torch.get_num_threads(),
                        "kernel": "conv2d" if conv2d else "conv1d",
                        "precision": precision,
                        "chunk_size": chunk_size,
                        "batch_size": args.batch_size,
                        "strands": "".join(strands),
                        **measure(model, source, interval, engine,
                                  batch_size=args.batch_size, chunk_size=chunk_size,
                                  strands=strands),
                    }
                    results.append(row)
                    print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if args.json:
        common.write_json(
            args.json, "predict_throughput",
            env=common.environment(device=",".join(devices), precision=",".join(args.precision),
                                   threads=args.threads),
            results=results, peak_rss=common.peak_rss_mb(),
            extra={"workload": {"size_nt": args.size, "strands": "".join(strands)}},
        )


if __name__ == "__main__":
    main()
