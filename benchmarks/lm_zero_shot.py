"""Throughput of SpliceBERT KL-context scoring (SNVs per second) on CPU and, if present, CUDA.

The speed of the network does not depend on its weights, so by default the model is a randomly
initialised network of the real SpliceBERT.510nt architecture (6 layers, hidden 512, 16 heads,
FFN 2048, 512 positions); ``--weights`` loads a release folder instead.

Workload: in-silico mutagenesis style, the 3 SNVs of each position share one 510-nt reference
window (variant at index 255), so each position costs 1 reference + 3 ALT forward passes (+1
masked pass with ``--masked-marginal``).

    python benchmarks/lm_zero_shot.py --positions 32            # CPU (+ CUDA when available)
    python benchmarks/lm_zero_shot.py --device cuda --precision bf16 --positions 2048
    python benchmarks/lm_zero_shot.py --device cuda --json lm.json   # results as JSON

Prints one JSON line per run; ``--json FILE`` writes them all (``benchmarks/README.md``; the
first run's ``snvs_per_s`` at the top level).
"""

from __future__ import annotations

import argparse
import json
import random
import time

import _common as common
import torch

from rnatools.engine import Engine
from rnatools.models.bert import BertConfig, BertMaskedLM
from rnatools.models.lm import BertLanguageModel, Vocabulary, load_lm
from rnatools.scoring.zero_shot import score_snvs

SPLICEBERT_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "N", "A", "C", "G", "T"]


def random_splicebert(engine: Engine) -> BertLanguageModel:
    config = BertConfig(
        vocab_size=10,
        hidden_size=512,
        num_layers=6,
        num_heads=16,
        intermediate_size=2048,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    model = BertMaskedLM(config)
    model.tie_decoder()
    vocabulary = Vocabulary.from_tokens(
        SPLICEBERT_TOKENS,
        pad="[PAD]",
        mask="[MASK]",
        unknown="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    return BertLanguageModel("splicebert-510", model, vocabulary, engine)


def workload(positions: int, window: int = 510, seed: int = 0):
    rng = random.Random(seed)
    windows, indices, alts = [], [], []
    for _ in range(positions):
        text = "".join(rng.choice("ACGT") for _ in range(window))
        centre = window // 2
        for base in "ACGT":
            if base != text[centre]:
                windows.append(text)
                indices.append(centre)
                alts.append(base)
    return windows, indices, alts


def measure(
    device_name: str,
    precision: str,
    positions: int,
    batch_size: int,
    masked_marginal: bool,
    weights: str | None,
) -> dict:
    engine = Engine(device_name, precision)
    device = engine.device
    if weights:
        model = load_lm("splicebert-510", weights, device=device, precision=precision)
    else:
        model = random_splicebert(engine)
    windows, indices, alts = workload(positions)
    warm = workload(2, seed=1)
    score_snvs(model, *warm, batch_size=batch_size, masked_marginal=masked_marginal)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    score_snvs(
        model, windows, indices, alts, batch_size=batch_size, masked_marginal=masked_marginal
    )
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "precision": precision,
        "masked_marginal": masked_marginal,
        "batch_size": batch_size,
        "snvs": len(windows),
        "seconds": round(seconds, 3),
        "snvs_per_second": round(len(windows) / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="all", help="cpu, cuda, or all (cpu + cuda if any)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--positions", type=int, default=16, help="positions (3 SNVs each)")
    parser.add_argument("--gpu-positions", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--gpu-batch-size", type=int, default=128)
    parser.add_argument("--masked-marginal", action="store_true")
    parser.add_argument("--weights", default=None, help="SpliceBERT release folder (optional)")
    parser.add_argument("--threads", type=int, default=0)
    common.add_json_argument(parser)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = []
    if args.device in ("cpu", "all"):
        precision = "fp32" if args.precision == "fp16" else args.precision
        runs.append(("cpu", precision, args.positions, args.batch_size))
    if args.device == "cuda" or (args.device == "all" and torch.cuda.is_available()):
        runs.append(("cuda", "fp32", args.gpu_positions, args.gpu_batch_size))
        runs.append(("cuda", "bf16", args.gpu_positions, args.gpu_batch_size))
    results = []
    for device, precision, positions, batch_size in runs:
        result = measure(
            device, precision, positions, batch_size, args.masked_marginal, args.weights
        )
        print(json.dumps(result), flush=True)
        results.append(dict(result, snvs_per_s=result["snvs_per_second"]))
    if args.json:
        common.write_json(
            args.json, "lm_zero_shot",
            env=common.environment(
                device=",".join(sorted({r["device"] for r in results})) or args.device,
                precision=",".join(r["precision"] for r in results), threads=args.threads,
            ),
            results=results, peak_rss=common.peak_rss_mb(),
            extra={"workload": {"model": "splicebert-510" if args.weights
                                else "random SpliceBERT.510nt architecture",
                                "window_nt": 510, "masked_marginal": args.masked_marginal}},
        )


if __name__ == "__main__":
    main()
