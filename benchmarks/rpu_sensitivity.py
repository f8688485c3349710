"""Sensitivity study of Gokmen & Vlasov (2016) as a loop of ``neuroemu rpu-train`` commands: the final test
error against one device / periphery parameter, one PNG per axis (plus the float error as a line).

    python benchmarks/rpu_sensitivity.py --axis states --values 100,300,1200,3000 --epochs 3 \\
        --train-limit 5000 --test-limit 2000 --out /tmp/rpu-sens
    python benchmarks/rpu_sensitivity.py --axis up-down --values 0,0.02,0.05,0.1,0.3 ...

Axes are the command's override options (states, up-down, dw-min-dtod, dw-min-std, w-bound-dtod, bl,
read-noise); ``--extra`` passes further options to every run (e.g. "--optimizer tiki-taka"). Each point's
JSON goes to OUT/AXIS.jsonl as it finishes (a point already there is not run again: the sweep resumes), the
plot to OUT/AXIS.png.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

AXES = ("states", "up-down", "dw-min-dtod", "dw-min-std", "w-bound-dtod", "bl", "read-noise")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--axis", required=True, choices=AXES)
    parser.add_argument("--values", required=True, help="comma-separated values of the axis")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int)
    parser.add_argument("--test-limit", type=int)
    parser.add_argument("--extra", default="", help="further rpu-train options for every run")
    parser.add_argument("--out", type=Path, default=Path("rpu-sensitivity"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    lines = args.out / f"{args.axis}.jsonl"
    sweep = {"epochs": args.epochs, "train_limit": args.train_limit, "test_limit": args.test_limit,
             "extra": args.extra}
    done = _finished(lines, sweep)
    points = []
    for index, value in enumerate(args.values.split(",")):
        if float(value) in done:  # append-as-you-go: a point in the file is not run again
            points.append(done[float(value)])
            continue
        cmd = [sys.executable, "-m", "neuroemu", "rpu-train", "--json", "--epochs", str(args.epochs),
               f"--{args.axis}", value, *shlex.split(args.extra)]
        if index > 0:
            cmd.append("--no-fp")
        for option in ("train_limit", "test_limit"):
            if getattr(args, option) is not None:
                cmd += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
        result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        result["axis_value"] = float(value)
        result["sweep"] = sweep
        with lines.open("a") as f:
            f.write(json.dumps(result) + "\n")
        points.append(result)
        error = 100 * result['epochs'][-1]['test_error']
        print(f"{args.axis} = {value}: test error {error:.2f} %", flush=True)
    fp = next((p["fp_test_error"] for p in points if p.get("fp_test_error") is not None), None)

    import matplotlib  # local: only the plot needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([p["axis_value"] for p in points], [100 * p["epochs"][-1]["test_error"] for p in points], "o-",
            label="RPU")
    if fp is not None:
        ax.axhline(100 * fp, ls="--", color="gray", label="float")
    if args.axis in ("states", "bl"):
        ax.set_xscale("log")
    ax.set_xlabel(args.axis)
    ax.set_ylabel(f"test error after {args.epochs} epochs (%)")
    ax.set_yscale("log")
    ax.legend()
    fig.savefig(args.out / f"{args.axis}.png", dpi=120, bbox_inches="tight")
    print(f"plot: {args.out / f'{args.axis}.png'}")


def _finished(lines: Path, sweep: dict) -> dict[float, dict]:
    """The points already in ``lines`` by axis value; a file of another sweep's settings is refused."""
    done = {}
    if lines.exists():
        for line in lines.read_text().splitlines():
            point = json.loads(line)
            if point.get("sweep") != sweep:
                raise SystemExit(f"{lines} holds points of other settings ({point.get('sweep')}, not "
                                 f"{sweep}): use another --out")
            done[point["axis_value"]] = point
    return done


if __name__ == "__main__":
    main()
