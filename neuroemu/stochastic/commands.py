"""``neuroemu sc-sweep``: accuracy of an SC network against bitstream length (SC-DCNN's length sweep).

One point per length: the model is mapped with :class:`~neuroemu.stochastic.Stochastic`, evaluated on the
test set (or its first ``--limit`` images) and its ledger kept. ``--json`` prints one object
``{"model", "block", "sng", "n_images", "mux_select", "counter", "fp_accuracy", "points": [{"length",
"accuracy", "wall_s", "ledger"}, ...]}``; otherwise a table and a PNG plot of accuracy against length.
With ``--out FILE`` every finished point is appended to FILE as a JSON line (with a hash of its
configuration) and points already there are reused, so an interrupted sweep resumes.
"""

import argparse
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

DEFAULT_MODELS = {"max": "lenet5-mnist-tanh", "avg": "lenet5-mnist-tanh-avg"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sc-sweep`` parser (lengths run in increasing order, each once)."""
    from neuroemu.stochastic.network import BLOCKS
    from neuroemu.stochastic.sng import SOURCES

    p = subparsers.add_parser("sc-sweep", help="stochastic-computing accuracy against bitstream length")
    p.add_argument("--model", help="tanh model name or .pt path (default: lenet5-mnist-tanh, or for "
                                   "average-pooling blocks lenet5-mnist-tanh-avg where shipped); a shipped "
                                   "ReLU name (lenet5-mnist) runs its shipped tanh twin, as 'sc_model' says")
    p.add_argument("--lengths", default="16,32,64,128,256,512,1024,2048",
                   help="comma-separated bitstream lengths")
    p.add_argument("--block", default="apc-max-btanh", help=f"SC-DCNN block: {', '.join(BLOCKS)}")
    p.add_argument("--sng", default="sobol", help=f"number generator source: {', '.join(SOURCES)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", default="bitexact", help="bitexact, or analytic (an approximation)")
    p.add_argument("--pool-segment", type=int, default=16, help="max-pooling segment length in cycles")
    p.add_argument("--mux-select", default="uniform",
                   help="MUX blocks' select signals: uniform (SC-DCNN) or weighted (|w|-weighted; an "
                        "extension)")
    p.add_argument("--counter", default="exact",
                   help="APC blocks' parallel counter: exact, or approximate (Kim et al.'s APC)")
    p.add_argument("--limit", type=int, help="use only the first N test images")
    p.add_argument("--dataset", help="data set (default: the model's)")
    p.add_argument("--out", type=Path, help="JSON-lines file: append finished points, resume from it")
    p.add_argument("--plot", type=Path, help="PNG file for the plot (default sc-sweep-BLOCK-SNG.png)")
    p.add_argument("--json", action="store_true", help="print one JSON object, no table or plot")
    p.set_defaults(run=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    """Run the sweep described by ``args``; return the exit status."""
    import neuroemu
    from neuroemu.cli import UsageError, positive_int_list
    from neuroemu.data import DATASETS, load_tensors
    from neuroemu.experiments.points import append_point, ledger_summary, point_key, read_points
    from neuroemu.nets import UnknownModelError, load_checkpoint
    from neuroemu.nets.accuracy import accuracy
    from neuroemu.stochastic.spec import Stochastic

    lengths = positive_int_list(args.lengths, "--lengths")
    try:  # the spec validates block, sng, mode and segment (listing the known values) before any work
        spec = Stochastic(length=lengths[0], block=args.block, sng=args.sng, seed=args.seed, mode=args.mode,
                          pool_segment=args.pool_segment, mux_select=args.mux_select, counter=args.counter)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be a positive integer, got {args.limit}")
    if args.dataset is not None and args.dataset not in DATASETS:
        raise UsageError(f"unknown dataset {args.dataset!r}; known datasets: {', '.join(sorted(DATASETS))}")
    requested = args.model or _default_model(args.block)
    model_name = _tanh_twin(requested, args.block)
    if model_name != requested:
        print(f"sc-sweep: {requested} has ReLU activations, which SC-DCNN's blocks do not compute; running "
              f"its shipped tanh-trained twin {model_name} (same architecture and data set)", file=sys.stderr)
    try:
        checkpoint = load_checkpoint(model_name)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from exc
    if checkpoint.normalize != "unit":
        raise UsageError(f"model {model_name!r} expects {checkpoint.normalize!r} inputs; "
                         "SC needs 'unit' ([0, 1])")
    dataset = args.dataset or checkpoint.dataset
    images, labels = load_tensors(dataset, "test", normalize="unit", limit=args.limit)
    model = checkpoint.build()
    fp_accuracy = accuracy(model, images, labels)
    config = {"model": str(model_name), "dataset": dataset, "block": args.block, "sng": args.sng,
              "seed": args.seed, "mode": args.mode, "pool_segment": args.pool_segment,
              "n_images": len(images)}
    for option, default in (("mux_select", "uniform"), ("counter", "exact")):
        if getattr(args, option) != default:  # (absent for defaults: earlier results files still resume)
            config[option] = getattr(args, option)
    done = read_points(args.out) if args.out else {}
    points = []
    for i, length in enumerate(lengths):
        key = point_key({**config, "length": length})
        if key in done:
            points.append(done[key])
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore" if args.json or i else "default")  # warn once
                sc_model = neuroemu.map(model, dataclasses.replace(spec, length=length))
        except ValueError as exc:  # e.g. a model the SC blocks cannot run
            raise UsageError(str(exc)) from exc
        start = time.perf_counter()
        acc = accuracy(sc_model, images, labels, batch_size=1000)
        wall = time.perf_counter() - start
        point = {"length": length, "accuracy": acc, "wall_s": round(wall, 3),
                 "ledger": ledger_summary(sc_model.ledger)}
        points.append(point)
        if args.out:
            append_point(args.out, {**config, "length": length}, point)
        if not args.json:
            print(f"L={length}: accuracy {acc:.4f} ({wall:.1f} s)", file=sys.stderr, flush=True)
    result = {"model": str(requested), "sc_model": str(model_name), "block": args.block, "sng": args.sng,
              "n_images": len(images), "mux_select": args.mux_select, "counter": args.counter,
              "fp_accuracy": fp_accuracy, "points": points}
    if args.json:
        print(json.dumps(result))
        return 0
    _print_table(result)
    plot = args.plot or Path(f"sc-sweep-{args.block}-{args.sng}.png")
    _plot(result, plot)
    print(f"\nplot: {plot}")
    return 0


def _tanh_twin(name: str, block: str) -> str:
    """A shipped ReLU network's shipped tanh twin (``-tanh-avg`` for average-pooling blocks where shipped,
    else ``-tanh``); any other name unchanged."""
    from neuroemu.nets import shipped_models

    if name not in shipped_models() or name.endswith(("-tanh", "-tanh-avg", "-tanh-lrn")):
        return name
    candidates = [f"{name}-tanh-avg", f"{name}-tanh"] if block.split("-")[1] == "avg" else [f"{name}-tanh"]
    return next((c for c in candidates if c in shipped_models()), name)


def _default_model(block: str) -> str:
    """The shipped tanh network trained with the block's pooling, else the max-pooling one."""
    from neuroemu.nets import shipped_models

    name = DEFAULT_MODELS[block.split("-")[1]]
    return name if name in shipped_models() else DEFAULT_MODELS["max"]


def _print_table(result: dict[str, Any]) -> None:
    from neuroemu.report import format_table

    n = result["n_images"]
    rows = [[p["length"], f"{100 * p['accuracy']:.2f} %",
             f"{100 * (p['accuracy'] - result['fp_accuracy']):+.2f}", p["wall_s"],
             p["ledger"]["totals"].get("sc_gate_cycle", 0) // max(n, 1)] for p in result["points"]]
    print(f"{result['model']} as {result['block']} ({result['sng']} SNGs), {n} images, "
          f"float accuracy {100 * result['fp_accuracy']:.2f} %\n")
    print(format_table(["length", "accuracy", "Δ vs float (pp)", "wall s", "gate-cycles/image"], rows))


def _plot(result: dict[str, Any], path: Path) -> None:
    from neuroemu.report import plot_accuracy_sweep

    points = result["points"]
    plot_accuracy_sweep([p["length"] for p in points], [p["accuracy"] for p in points],
                        float_accuracy=result["fp_accuracy"], xlabel="bitstream length L",
                        label=f"{result['block']} ({result['sng']})",
                        title=f"{result['model']}, {result['n_images']} images", path=path)


DEMO_BLOCKS = ("apc-max-btanh", "apc-avg-btanh")
DEMO_LENGTHS = (64, 256, 1024)
DEMO_IMAGES = 100  # bit-exact SC runs ~45 images/s at L = 1024 on one busy core: a short look for the demo


def demo_table(limit: int | None = None) -> str:
    """Bit-exact SC LeNet-5 accuracy at a few bitstream lengths, for ``neuroemu demo``."""
    import neuroemu
    from neuroemu.data import load_tensors
    from neuroemu.nets import load_checkpoint
    from neuroemu.nets.accuracy import accuracy
    from neuroemu.report import format_table
    from neuroemu.stochastic.spec import Stochastic

    n = min(limit or DEMO_IMAGES, DEMO_IMAGES)
    rows = []
    for block in DEMO_BLOCKS:
        name = _default_model(block)
        checkpoint = load_checkpoint(name)
        images, labels = load_tensors(checkpoint.dataset, "test", normalize="unit", limit=n)
        model = checkpoint.build()
        row: list[object] = [block, name, f"{100 * accuracy(model, images, labels):.1f}"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for length in DEMO_LENGTHS:
                sc_model = neuroemu.map(model, Stochastic(length=length, block=block, sng="sobol", seed=0))
                row.append(f"{100 * accuracy(sc_model, images, labels, batch_size=1000):.1f}")
        rows.append(row)
    head = f"Stochastic computing, bit-exact, Sobol sources, first {n} test images (accuracy %)"
    return head + "\n\n" + format_table(["block", "model", "float", *(f"L={v}" for v in DEMO_LENGTHS)], rows)
