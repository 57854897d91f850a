"""Records per second of `rnatools annotate` per model, and of all models in one pass.

Runs ``rnatools annotate -a examples/brca1/brca1.gtf -d 50`` on the BRCA1 ClinVar example
(``examples/brca1/clinvar_brca1.grch38.vcf.gz``, 1,041 records; ``--records N`` keeps the first
N) once with each of ``--model spliceai``, ``openspliceai-mane``, ``pangolin``, ``splicebert``,
then once with all of them that ran in one pass (``spliceai,pangolin,openspliceai-mane,
splicebert``), each as a child process. It reports records/s of every run and the extra cost of
each model in the one-pass run::

    extra_cost_s[m] = net(one pass) - sum(net(single o) for every other model o)

where ``net`` is the wall time of the N records minus that of the first record alone (start-up
and model loading left out; with ``--no-startup`` the plain wall times). ``--leave-one-out``
also times the one-pass run without each model and reports ``one_pass - without m`` directly.

Weights: each model's environment variable (``RNATOOLS_OPENSPLICEAI_WEIGHTS``,
``RNATOOLS_PANGOLIN_WEIGHTS``, ``RNATOOLS_SPLICEBERT_WEIGHTS``; SpliceAI from the installed
``spliceai`` package), else ``--weights-root``/``openspliceai_mane`` and ``…/pangolin``
(default root: ``$RNATOOLS_TEST_WEIGHTS``, else ``../shared/data/weights`` next to the
repository). A model without weights, or whose run exits 2 (unknown model or option) or 3
(missing weights or dependency), is reported as skipped with the reason; any other failure as
failed. Examples::

    python benchmarks/multi_model.py --records 50 --threads 2
    python benchmarks/multi_model.py --device cuda --json multi_model.json
    python benchmarks/multi_model.py --models spliceai pangolin --records 5 --no-startup
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path

import _common as common

MODELS = ["spliceai", "openspliceai-mane", "pangolin", "splicebert"]
ONE_PASS_ORDER = ["spliceai", "pangolin", "openspliceai-mane", "splicebert"]
WEIGHTS = {  # model: (environment variable, folder under the weights root or None)
    "spliceai": (None, None),
    "openspliceai-mane": ("RNATOOLS_OPENSPLICEAI_WEIGHTS", "openspliceai_mane"),
    "pangolin": ("RNATOOLS_PANGOLIN_WEIGHTS", "pangolin"),
    "splicebert": ("RNATOOLS_SPLICEBERT_WEIGHTS", None),
}
SKIP_EXITS = {2: "usage", 3: "missing weights or dependency"}


def default_weights_root() -> Path:
    test = os.environ.get("RNATOOLS_TEST_WEIGHTS")
    return Path(test) if test else common.REPO.parent / "shared" / "data" / "weights"


def weights_env(models: list[str], root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(environment variables to set for the children, {model: why it is skipped})."""
    env: dict[str, str] = {}
    missing: dict[str, str] = {}
    for model in models:
        variable, folder = WEIGHTS.get(model, (None, None))
        if variable is None:
            continue
        if os.environ.get(variable):
            if not Path(os.environ[variable]).exists():
                missing[model] = f"${variable}={os.environ[variable]} does not exist"
            continue
        if folder and (root / folder).is_dir():
            env[variable] = str(root / folder)
        else:
            where = f" nor {root / folder}" if folder else ""
            missing[model] = f"weights not found: ${variable} unset{where}"
    return env, missing


class Runner:
    def __init__(self, args: argparse.Namespace, vcf: Path, first: Path | None, scratch: Path,
                 env: dict[str, str]):
        self.args, self.vcf, self.first, self.scratch = args, vcf, first, scratch
        self.installation = common.Installation(extra_env=env)

    def _command(self, models: str, vcf: Path, output: Path) -> list[str]:
        a = self.args
        return self.installation.command(
            "annotate", "-i", str(vcf), "-o", str(output), "-f", str(common.BRCA1_FASTA),
            "-a", str(common.BRCA1_GTF), "-d", str(a.distance), "-m", models,
            "--device", a.device, "--precision", a.precision, "--threads", str(a.threads),
            *shlex.split(a.annotate_args),
        )

    def run(self, models: list[str], records: int) -> dict:
        """One configuration: N records (and the first record alone, for the start-up)."""
        name = ",".join(models)
        row: dict = {"models": name, "records": records}
        env = self.installation.env(self.args.threads)
        output = self.scratch / f"{name.replace(',', '+')}.vcf"
        run = common.run_child(self._command(name, self.vcf, output), env)
        if run.returncode != 0:
            why = SKIP_EXITS.get(run.returncode)
            row.update(status="skipped" if why else "failed",
                       reason=f"exit {run.returncode}"
                       + (f" ({why})" if why else "") + f": {run.last_line()}")
            return row
        row.update(status="ok", seconds=round(run.seconds, 3),
                   cpu_seconds=round(run.cpu_seconds, 2), peak_rss_mb=run.peak_rss_mb,
                   records_per_s=round(records / run.seconds, 3))
        row["net_seconds"] = row["seconds"]
        if self.first is not None and records > 1:
            start = common.run_child(self._command(name, self.first, self.scratch / "first.vcf"),
                                     env)
            if start.returncode == 0:
                row["startup_seconds"] = round(start.seconds, 3)
                row["net_seconds"] = round(max(run.seconds - start.seconds, 1e-3), 3)
                row["records_per_s_marginal"] = round((records - 1) / row["net_seconds"], 3)
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=common.BRCA1_CLINVAR)
    parser.add_argument("--records", type=int, default=None, help="first N records")
    parser.add_argument("--models", nargs="+", default=MODELS, help="default: %(default)s")
    parser.add_argument("-d", "--distance", type=int, default=50)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--weights-root", type=Path, default=default_weights_root())
    parser.add_argument("--annotate-args", default="",
                        help="more annotate options for every run, e.g. '--batch-size 64'")
    parser.add_argument("--no-startup", dest="startup", action="store_false",
                        help="skip the one-record runs (extra costs from plain wall times)")
    parser.add_argument("--leave-one-out", action="store_true",
                        help="also time the one-pass run without each model")
    common.add_json_argument(parser)
    args = parser.parse_args()

    extra_env, missing = weights_env(args.models, args.weights_root)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="rnatools-multi-model-") as folder:
        scratch = Path(folder)
        vcf = scratch / "input.vcf"
        records = common.first_records(args.input, vcf, args.records)
        first = None
        if args.startup:
            first = scratch / "first.in.vcf"
            common.first_records(vcf, first, 1)
        runner = Runner(args, vcf, first, scratch, extra_env)
        for model in args.models:
            if model in missing:
                rows.append({"models": model, "records": records, "status": "skipped",
                             "reason": missing[model]})
            else:
                rows.append(runner.run([model], records))
            print("  ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
        single = {r["models"]: r for r in rows if r["status"] == "ok"}
        ran = [m for m in ONE_PASS_ORDER if m in single]
        ran += [m for m in args.models if m in single and m not in ran]
        extra_costs: dict = {}
        if len(ran) >= 2:
            combo = runner.run(ran, records)
            combo["one_pass"] = True
            rows.append(combo)
            print("  ".join(f"{k}={v}" for k, v in combo.items()), flush=True)
            if combo["status"] == "ok":
                for model in ran:
                    others = sum(single[o]["net_seconds"] for o in ran if o != model)
                    extra = round(combo["net_seconds"] - others, 3)
                    extra_costs[model] = {
                        "extra_cost_s": extra,
                        "single_net_s": single[model]["net_seconds"],
                        "extra_cost_fraction_of_single": round(
                            extra / single[model]["net_seconds"], 3),
                    }
                    if args.leave_one_out and len(ran) > 2:
                        without = runner.run([o for o in ran if o != model], records)
                        without["leave_one_out"] = model
                        rows.append(without)
                        if without["status"] == "ok":
                            extra_costs[model]["one_pass_minus_without_s"] = round(
                                combo["net_seconds"] - without["net_seconds"], 3)
                combo["sum_of_singles_net_s"] = round(sum(single[m]["net_seconds"]
                                                          for m in ran), 3)
                combo["saving_vs_separate_runs_s"] = round(
                    combo["sum_of_singles_net_s"] - combo["net_seconds"], 3)
    for model, cost in extra_costs.items():
        print(f"extra cost of {model} in the one-pass run: {cost['extra_cost_s']} s "
              f"({cost['extra_cost_fraction_of_single']:.0%} of its own run)")
    for row in rows:
        if row["status"] != "ok":
            print(f"{row['models']}: {row['status']} ({row['reason']})", file=sys.stderr)
    head = next((r for r in rows if r.get("one_pass") and r["status"] == "ok"),
                next((r for r in rows if r["status"] == "ok"), {}))
    env = common.environment(device=args.device, precision=args.precision, threads=args.threads,
                             installation=runner.installation.info(
                                 cuda=args.device.startswith("cuda")))
    common.write_json(
        args.json, "multi_model", env=env, results=rows, headline=head,
        comparison={"figure": "extra_cost_in_one_pass_s", "models": ran,
                    "value": extra_costs} if extra_costs else None,
        extra={"workload": {"input": str(args.input), "records": records,
                            "distance": args.distance, "weights_env": extra_env,
                            "skipped": {r["models"]: r["reason"] for r in rows
                                        if r["status"] != "ok"}}},
    )


if __name__ == "__main__":
    main()
