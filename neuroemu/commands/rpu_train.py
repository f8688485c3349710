"""``neuroemu rpu-train``: train the 784-256-128-10 network of Gokmen & Vlasov (2016), or LeNet-5 with its
convolutions as arrays (Gokmen et al. 2017, ``--network lenet5``), in memory on RPU arrays.

Batch-1 SGD with stochastic pulsed updates (or Tiki-Taka), next to the same network trained in float with
the same schedule. Options override one device non-ideality at a time, so the paper's sensitivity study is
a loop of commands. ``--json`` prints one object ``{"device", "network", "optimizer", "bl", "lr",
"batch_size", "seed", "fp_test_error", "epochs": [{"epoch", "test_error", "train_loss", "wall_s"}, ...],
"ledger"}`` (plus ``"train_samples"``, ``"test_samples"``, ``"overrides"``, ``"fp_epochs"``,
``"devices_per_weight"`` (layer → devices per weight, ``--devices-per-weight``), ``"tiki_taka"``
(``{"gamma", "every", "lr", "fast_lr", "reference"}`` or null) and ``"energy"``,
:func:`~neuroemu.cost.rpu_training.price_rpu_training`); otherwise a table and a PNG of test
error against epoch with the float curve.

``--out FILE`` appends each finished epoch (both curves) to FILE and keeps the training state beside it
(:mod:`neuroemu.experiments.epochs`): the same command again resumes with a bit-identical result.
``--save-ledger PATH`` writes the training ledger for ``neuroemu energy --from-ledger PATH``
(:mod:`neuroemu.experiments.training_energy`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from neuroemu.cards import Card, card_sha256, load_card
from neuroemu.cards.rpu_devices import RpuDevice
from neuroemu.cost.rpu_training import price_rpu_training
from neuroemu.data.loaders import load_tensors
from neuroemu.devices.training import TRAINING_KINDS, update_model
from neuroemu.experiments.epochs import EpochStore, Resumed
from neuroemu.experiments.store import StoreError
from neuroemu.experiments.training_energy import training_saved
from neuroemu.ledger import Ledger
from neuroemu.report import format_table
from neuroemu.rpu.lenet import FloatLeNet5, RpuLeNet5, lenet5_layers
from neuroemu.rpu.network import PAPER_SIZES, FloatMlp, RpuMlp
from neuroemu.rpu.tile import MAX_DEVICES_PER_WEIGHT, TileConfig
from neuroemu.usage import UsageError, output_file

__all__ = ["register", "run_rpu_train"]

NETWORKS = ("mlp", "lenet5")

#: device overrides: option → (card field, allowed range text, check)
_OVERRIDES = {
    "up_down": ("up_down", "in (-1, 1)", lambda v: -1 < v < 1),
    "dw_min_dtod": ("dw_min_dtod", ">= 0", lambda v: v >= 0),
    "dw_min_std": ("dw_min_std", ">= 0", lambda v: v >= 0),
    "w_bound_dtod": ("w_bound_dtod", ">= 0", lambda v: v >= 0),
    "up_down_dtod": ("up_down_dtod", ">= 0", lambda v: v >= 0),
}
#: the options a run's results depend on (a results file of other values is not resumed)
_RUN_OPTIONS = ("network", "optimizer", "lr", "bl", "seed", "train_limit", "test_limit", "states",
                *_OVERRIDES, "soft_bounds", "read_noise", "out_bound", "dac_bits", "adc_bits",
                "no_management", "tt_gamma", "tt_every", "tt_lr", "tt_fast_lr", "tt_reference", "no_fp")


def register(subparsers: Any) -> None:
    """Add the ``rpu-train`` parser."""
    p = subparsers.add_parser("rpu-train", help="in-memory training on RPU arrays (Gokmen & Vlasov 2016)")
    p.add_argument("--device", default="rpu-gokmen2016",
                   help="training device card: rpu_device (default rpu-gokmen2016), rpu_rram_device "
                        "(rram-agsi-neurosim) or rpu_pcm_pair (pcm-pair-nandakumar2020)")
    p.add_argument("--network", default="mlp", choices=NETWORKS,
                   help="mlp: 784-256-128-10, sigmoid hidden, softmax out (the 2016 paper's network); "
                        "lenet5: LeNet-5, tanh, max pooling, each convolution one (k·k·c_in + 1) × c_out "
                        "array (Gokmen et al. 2017); sgd only")
    p.add_argument("--optimizer", default="sgd", choices=("sgd", "tiki-taka"),
                   help="update rule (default sgd)")
    p.add_argument("--epochs", type=int, default=30, help="training epochs (default 30, the paper's)")
    p.add_argument("--lr", type=float, default=0.01,
                   help="learning rate η (default 0.01, the paper's; also lenet5's, see the README)")
    p.add_argument("--bl", type=int, default=10, help="pulse train length BL (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, devices and pulses (default 0)")
    p.add_argument("--train-limit", type=int, help="train on the first N training images per epoch")
    p.add_argument("--test-limit", type=int, help="test on the first N test images")
    p.add_argument("--states", type=float, help="override: number of steps between the bounds "
                   "(sets dw_min = (w_max - w_min)/states)")
    for option, (_, allowed, _check) in _OVERRIDES.items():
        p.add_argument(f"--{option.replace('_', '-')}", type=float,
                       help=f"override card {option} ({allowed})")
    p.add_argument("--soft-bounds", action="store_true", help="override: soft-bounds steps")
    p.add_argument("--read-noise", type=float, default=0.06, help="σ of a read, relative to the output "
                   "range (default 0.06, the paper's)")
    p.add_argument("--out-bound", type=float, default=12.0, help="output bound of a read, 0 = none "
                   "(default 12)")
    p.add_argument("--dac-bits", type=int, help="DAC bits of a read (default none: exact inputs)")
    p.add_argument("--adc-bits", type=int, help="ADC bits over ±out-bound (default none)")
    p.add_argument("--devices-per-weight", metavar="N|LAYER=N,...",
                   help="devices per weight (Gokmen et al. 2017's variability reduction, rpu_device cards, "
                        "sgd): N for every layer or per layer, e.g. conv1=13,conv2=13 (others 1; default 1)")
    p.add_argument("--no-management", action="store_true",
                   help="turn off noise, bound and update management (the 2016 paper's plain tile)")
    p.add_argument("--tt-gamma", type=float, default=0.1, help="Tiki-Taka γ in W = γA + C (default 0.1)")
    p.add_argument("--tt-every", type=int, default=1,
                   help="Tiki-Taka: samples between transfers (default 1)")
    p.add_argument("--tt-lr", type=float, default=0.01, help="Tiki-Taka transfer rate (default 0.01)")
    p.add_argument("--tt-fast-lr", type=float,
                   help="Tiki-Taka: learning rate of the gradient pulses onto A (default: --lr)")
    p.add_argument("--tt-reference", choices=("symmetry", "zero"),
                   help="Tiki-Taka: read A against its devices' symmetry points (the paper's reference "
                        "devices; default for rpu_device cards, 0 under hard bounds) or against 0 (default "
                        "for other kinds)")
    p.add_argument("--no-fp", action="store_true", help="skip the float baseline")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1; results do not depend on it)")
    p.add_argument("--plot", type=Path, help="PNG of test error vs epoch (default rpu-train.png)")
    p.add_argument("--out", type=output_file, metavar="FILE",
                   help="results file (JSON lines): append each finished epoch (and the float baseline's) as "
                        "it finishes, with the training state in FILE.ckpt.pt; the same command again "
                        "resumes from the last finished epoch (or reads a finished run)")
    p.add_argument("--save-ledger", type=output_file, metavar="PATH",
                   help="also write the training ledger (samples, device card) to PATH as JSON, for "
                        "neuroemu energy --from-ledger PATH")
    p.add_argument("--json", action="store_true", help="print one JSON object, no table or plot")
    p.set_defaults(run=run_rpu_train)


def device_card(args: argparse.Namespace) -> tuple[Card, dict[str, Any]]:
    """The device card with the command-line overrides applied, and the overrides."""
    card = load_card(args.device)
    if card.kind not in TRAINING_KINDS:
        raise UsageError(f"--device {args.device} is a {card.kind} card; rpu-train needs a training device "
                         f"card ({', '.join(TRAINING_KINDS)})")
    if not isinstance(card, RpuDevice):
        given = [f"--{o.replace('_', '-')}" for o in (*_OVERRIDES, "states") if getattr(args, o) is not None]
        given += ["--soft-bounds"] if args.soft_bounds else []
        if given:
            raise UsageError(f"{', '.join(given)} override(s) an rpu_device card; --device {args.device} is "
                             f"an {card.kind} card (its parameters are its own)")
        return card, {}
    changes: dict[str, Any] = {}
    for option, (field, allowed, check) in _OVERRIDES.items():
        value = getattr(args, option)
        if value is not None:
            if not check(value):
                raise UsageError(f"--{option.replace('_', '-')} must be {allowed}, got {value}")
            changes[field] = value
    if args.states is not None:
        if not args.states >= 2:
            raise UsageError(f"--states must be >= 2, got {args.states}")
        changes["dw_min"] = (card.w_max - card.w_min) / args.states
    if args.soft_bounds:
        changes["soft_bounds"] = True
    return dataclasses.replace(card, **changes), changes


def layer_names(network: str) -> list[str]:
    """The weight layers of ``network`` ("mlp" or "lenet5"), as the ledger names them."""
    if network == "lenet5":
        return [layer.name for layer in lenet5_layers()[0]]
    return [f"fc{i + 1}" for i in range(len(PAPER_SIZES) - 1)]


def devices_per_weight(spec: str | None, layers: list[str]) -> list[int]:
    """Per-layer devices per weight from ``--devices-per-weight`` (N, or LAYER=N pairs, the others 1)."""
    counts = dict.fromkeys(layers, 1)
    if spec is None:
        return list(counts.values())
    allowed = f"an integer in 1..{MAX_DEVICES_PER_WEIGHT}"

    def count(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = 0
        if not 1 <= n <= MAX_DEVICES_PER_WEIGHT:
            raise UsageError(f"--devices-per-weight: a count must be {allowed}, got {text!r}")
        return n

    if "=" not in spec:
        return [count(spec.strip())] * len(layers)
    for item in spec.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in counts:
            raise UsageError(f"--devices-per-weight: {name!r} is not a layer of this network "
                             f"({', '.join(layers)})")
        counts[name] = count(value.strip())
    return list(counts.values())


def _check(args: argparse.Namespace) -> None:
    for option in ("epochs", "bl", "train_limit", "test_limit", "threads", "tt_every"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be a positive integer, got {value}")
    if args.tt_fast_lr is not None and not args.tt_fast_lr > 0:
        raise UsageError(f"--tt-fast-lr must be > 0, got {args.tt_fast_lr}")
    for option in ("lr", "tt_lr"):
        if not getattr(args, option) > 0:
            raise UsageError(f"--{option.replace('_', '-')} must be > 0, got {getattr(args, option)}")
    if args.read_noise < 0 or args.out_bound < 0 or args.tt_gamma < 0:
        raise UsageError("--read-noise, --out-bound and --tt-gamma must be >= 0")
    for option in ("dac_bits", "adc_bits"):
        bits = getattr(args, option)
        if bits is not None and not 2 <= bits <= 24:
            raise UsageError(f"--{option.replace('_', '-')} must be in 2..24, got {bits}")
    if args.adc_bits is not None and args.out_bound == 0:
        raise UsageError("--adc-bits needs --out-bound > 0 (the ADC's full scale)")
    if args.network == "lenet5" and args.optimizer != "sgd":
        raise UsageError(f"--optimizer {args.optimizer} is not available with --network lenet5 (sgd only)")
    #: the devices per weight of every layer (parsed once, here)
    args.layer_devices = devices_per_weight(args.devices_per_weight, layer_names(args.network))
    if max(args.layer_devices) > 1 and args.optimizer != "sgd":
        raise UsageError("--devices-per-weight above 1 is modelled for --optimizer sgd only")


def _run_config(args: argparse.Namespace, card: Card) -> dict[str, Any]:
    """The options a run's results depend on (not ``--epochs``, ``--threads`` or the outputs): what a
    results file's lines and checkpoint must match to be resumed."""
    devices = args.layer_devices
    return {"experiment": "rpu-train", "device": card.name, "device_sha256": card_sha256(card),
            **{option: getattr(args, option) for option in _RUN_OPTIONS},
            "devices_per_weight": devices if max(devices) > 1 else None}


def _flag(key: str) -> str:
    return {"device_sha256": "the device card's content (sha256)"}.get(key, f"--{key.replace('_', '-')}")


def run_rpu_train(args: argparse.Namespace) -> int:
    """Run the training described by ``args``; return the exit status."""
    _check(args)
    card, overrides = device_card(args)
    if max(args.layer_devices) > 1 and not isinstance(card, RpuDevice):
        raise UsageError(f"--devices-per-weight above 1 needs an rpu_device card; --device {args.device} is "
                         f"an {card.kind} card")
    torch.set_num_threads(args.threads)
    x, y = load_tensors("mnist", "train", limit=args.train_limit)
    xt, yt = load_tensors("mnist", "test", limit=args.test_limit)
    model = update_model(card)
    reference = args.tt_reference or ("symmetry" if hasattr(model, "symmetry_point") else "zero")
    if reference == "symmetry" and not hasattr(model, "symmetry_point"):
        raise UsageError(f"--tt-reference symmetry needs an rpu_device card; --device {args.device} is an "
                         f"{card.kind} card (use --tt-reference zero)")
    curves = ("rpu",) if args.no_fp else ("rpu", "fp")
    store = None if args.out is None else EpochStore(args.out, _run_config(args, card), curves, flag=_flag)
    try:
        with store.writing() if store is not None else contextlib.nullcontext():
            resumed = store.resume(args.epochs) if store is not None else \
                Resumed(rows={c: [] for c in curves})
            if resumed.epoch and not args.json:
                print(f"neuroemu rpu-train: {resumed.epoch} finished epoch(s) in {args.out}", file=sys.stderr)
            ledger, samples = _train(args, card, reference, (x, y, xt, yt), store, resumed)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    manage = not args.no_management
    epochs = [{k: row[k] for k in ("epoch", "test_error", "train_loss", "wall_s")}
              for row in resumed.rows["rpu"]]
    fp_epochs = resumed.rows.get("fp", [])
    network = "lenet5" if args.network == "lenet5" else "784-256-128-10"
    result = {"device": card.name, "network": network, "optimizer": args.optimizer, "bl": args.bl,
              "lr": args.lr, "batch_size": 1, "seed": args.seed,
              "fp_test_error": fp_epochs[-1]["test_error"] if fp_epochs else None,
              "epochs": epochs, "ledger": ledger.to_list(),
              "train_samples": len(x), "test_samples": len(xt), "overrides": overrides,
              "read_noise": args.read_noise, "management": manage, "fp_epochs": fp_epochs,
              "devices_per_weight": dict(zip(layer_names(args.network), args.layer_devices, strict=True)),
              "tiki_taka": ({"gamma": args.tt_gamma, "every": args.tt_every, "lr": args.tt_lr,
                             "fast_lr": args.tt_fast_lr or args.lr, "reference": reference}
                            if args.optimizer == "tiki-taka" else None),
              "energy": price_rpu_training(ledger, card, samples)}
    if args.save_ledger is not None:
        options = {k: v for k, v in _run_config(args, card).items()
                   if k not in ("experiment", "device_sha256")}
        saved = training_saved(ledger, card, samples, overrides, {**options, "epochs": args.epochs})
        args.save_ledger.write_text(json.dumps(saved), encoding="utf-8")
    if args.json:
        print(json.dumps(result))
        return 0
    _print_table(result)
    plot = args.plot or Path("rpu-train.png")
    _plot(result, plot)
    print(f"\nplot: {plot}")
    return 0


def _train(args: argparse.Namespace, card: Card, reference: str, data: tuple[torch.Tensor, ...],
           store: EpochStore | None, resumed: Resumed) -> tuple[Ledger, int]:
    """Train the epochs ``resumed`` lacks (appending each to ``store``); the training ledger and samples."""
    x, y, xt, yt = data
    if resumed.epoch >= args.epochs:  # every epoch asked for is in the results file
        last = resumed.rows["rpu"][args.epochs - 1]
        return Ledger.from_list(last["ledger"]), last["samples"]
    manage = not args.no_management
    config = TileConfig(lr=args.lr, bl=args.bl, read_noise=args.read_noise,
                        out_bound=args.out_bound or None, dac_bits=args.dac_bits, adc_bits=args.adc_bits,
                        noise_management=manage, bound_management=manage, update_management=manage)
    progress = not args.json and sys.stderr.isatty()
    devices = args.layer_devices
    if args.network == "lenet5":
        net: RpuMlp | RpuLeNet5 = RpuLeNet5(update_model(card), config, seed=args.seed,
                                            devices_per_weight=devices)
        fp: FloatMlp | FloatLeNet5 | None = None if args.no_fp else FloatLeNet5(seed=args.seed, lr=args.lr)
    else:
        net = RpuMlp(update_model(card), config, seed=args.seed, optimizer=args.optimizer,
                     tt_gamma=args.tt_gamma, tt_every=args.tt_every, tt_lr=args.tt_lr,
                     tt_reference=reference == "symmetry", tt_fast_lr=args.tt_fast_lr,
                     devices_per_weight=devices)
        fp = None if args.no_fp else FloatMlp(seed=args.seed, lr=args.lr)
    if resumed.state is not None:
        try:
            net.load_state(resumed.state["rpu"])
            if fp is not None:
                fp.load_state(resumed.state["fp"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            where = store.checkpoint if store is not None else "the checkpoint"
            raise UsageError(f"{where} does not fit this run: {exc}") from exc
    for epoch in range(resumed.epoch + 1, args.epochs + 1):
        bar = tqdm(total=len(x), desc=f"epoch {epoch}/{args.epochs}", unit="img", disable=not progress)
        with bar:
            start = time.perf_counter()
            loss = net.train_epoch(x, y, progress=bar.update)
            wall = time.perf_counter() - start
        error = net.test_error(xt, yt, seed=args.seed * 1000 + epoch)
        results = {"rpu": {"epoch": epoch, "test_error": error, "train_loss": loss, "wall_s": round(wall, 3),
                           "samples": net.samples_seen, "ledger": net.training_ledger().to_list()}}
        if fp is not None:
            start = time.perf_counter()
            fp_loss = fp.train_epoch(x, y)
            results["fp"] = {"epoch": epoch, "test_error": fp.test_error(xt, yt), "train_loss": fp_loss,
                             "wall_s": round(time.perf_counter() - start, 3)}
        if store is not None:
            state = {"rpu": net.state(), "fp": fp.state() if fp is not None else None}
            store.finish_epoch(epoch, state, results, resumed)
        else:
            for curve, row in results.items():
                resumed.rows[curve].append(row)
            resumed.epoch = epoch
    return net.training_ledger(), net.samples_seen


def _print_table(result: dict[str, Any]) -> None:
    fp = {e["epoch"]: e for e in result["fp_epochs"]}
    rows = [[e["epoch"], f"{100 * e['test_error']:.2f} %",
             f"{100 * fp[e['epoch']]['test_error']:.2f} %" if e["epoch"] in fp else "-",
             f"{e['train_loss']:.4f}", e["wall_s"]] for e in result["epochs"]]
    print(f"{result['network']} on {result['device']} ({result['optimizer']}, BL {result['bl']}, "
          f"η {result['lr']}), {result['train_samples']} training / {result['test_samples']} test images\n")
    print(format_table(["epoch", "RPU test error", "float test error", "train loss", "wall s"], rows))
    energy = result["energy"]
    if energy["energy_per_sample_j"] is not None:
        print(f"\nupdate energy: {energy['energy_per_sample_j']:.3e} J per sample (update pulses)")
    if energy["priced_per_sample_j"] and energy["priced_j"] != energy["energy_j"]:
        print(f"priced in all: {energy['priced_per_sample_j']:.3e} J per sample (reads included)")
    if energy["unpriced"]:
        print(f"unpriced: {', '.join(energy['unpriced'])} (neuroemu energy --from-ledger says why)")


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib  # local: heavy, only the plot needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([e["epoch"] for e in result["epochs"]], [100 * e["test_error"] for e in result["epochs"]],
            "o-", label=f"RPU ({result['device']}, {result['optimizer']})")
    if result["fp_epochs"]:
        fp = result["fp_epochs"]
        ax.plot([e["epoch"] for e in fp], [100 * e["test_error"] for e in fp], "s--", label="float")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(f"{result['network']}, batch 1, η = {result['lr']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
