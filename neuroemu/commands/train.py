"""``neuroemu train``: train a network (float or low-bit) with the project's own loop; save a checkpoint."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from neuroemu.cards import UnknownCardError, load_card
from neuroemu.commands.evaluate import check_dataset
from neuroemu.devices import MODELS, device_model
from neuroemu.hwa import HwaConfig, hwa_unwrap, hwa_wrap
from neuroemu.lowbit.schemes import parse_scheme
from neuroemu.nets import ARCHITECTURES, TrainConfig, load_checkpoint, save_checkpoint, train
from neuroemu.nets.train import NORMALIZE
from neuroemu.usage import UsageError, duration, nonnegative_float, output_file, positive_float, positive_int

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``train`` command to the ``neuroemu`` command line."""
    p = subparsers.add_parser("train", help="train a network and save its checkpoint")
    p.add_argument("arch", help="architecture (lenet5)")
    p.add_argument("--dataset", default="mnist", help="mnist or fashion-mnist (default mnist)")
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--lr", type=positive_float, default=2e-3, help="Adam learning rate (cosine decay to 0)")
    p.add_argument("--weight-decay", type=nonnegative_float, default=0.0)
    p.add_argument("--activation", choices=["relu", "tanh"], default="relu")
    p.add_argument("--lrn", action="store_true",
                   help="local response normalisation after the first pooling (lrn1)")
    p.add_argument("--pooling", choices=["max", "avg"], default="max")
    p.add_argument("--quant", metavar="SCHEME",
                   help="low-bit training: binaryconnect, bnn, xnor, ternary or dorefa:W,A")
    p.add_argument("--limit", type=positive_int, help="train on the first N training images only")
    p.add_argument("--shift", type=int, default=0, metavar="PIXELS",
                   help="augmentation: translate each training image by a random 0..PIXELS pixels per "
                        "axis, either way (default 0: none)")
    p.add_argument("--init", metavar="MODEL",
                   help="start from this checkpoint's weights (shipped name or .pt path): fine-tune it")
    p.add_argument("--hwa", metavar="DEVICE",
                   help="hardware-aware training on this device card: every training forward maps the "
                        "weights to its conductances and draws its programming/read noise (and drift) anew")
    p.add_argument("--hwa-noise-scale", type=nonnegative_float, default=1.0, metavar="S",
                   help="multiply the drawn weight error by S (default 1)")
    p.add_argument("--hwa-dac-bits", type=positive_int, default=8, metavar="B",
                   help="input DAC bits (default 8)")
    p.add_argument("--hwa-adc-bits", type=positive_int, default=8, metavar="B",
                   help="output ADC bits (default 8)")
    p.add_argument("--hwa-time", type=duration, default="0s", metavar="T",
                   help="read time after programming whose drift is trained for, e.g. 1d (default 0s)")
    p.add_argument("--hwa-no-drift-compensation", action="store_true",
                   help="train for reads without global drift compensation")
    p.add_argument("--out", type=output_file, required=True, help="checkpoint file to write (.pt)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train as ``args`` say and write the checkpoint; a bad name or value raises ``UsageError``."""
    if args.arch not in ARCHITECTURES:
        raise UsageError(f"unknown architecture {args.arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    check_dataset(args.dataset)
    try:
        config = TrainConfig(arch=args.arch, dataset=args.dataset, epochs=args.epochs, seed=args.seed,
                             batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                             limit=args.limit, shift=args.shift, model=_model_options(args),
                             init=args.init)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.init is not None:
        try:
            start = load_checkpoint(args.init)
        except ValueError as exc:
            raise UsageError(f"--init: {exc}") from exc
        if start.arch != args.arch or start.config != config.model:
            raise UsageError(f"--init: {args.init!r} is a {start.arch} {start.config}, but this training "
                             f"builds a {args.arch} {config.model}")
    hwa = _hwa_config(args)
    result = train(config, progress=not args.quiet,
                   prepare=None if hwa is None else (lambda model: hwa_wrap(model, hwa)))
    hwa_unwrap(result.model)
    provenance = result.provenance()
    if hwa is not None:
        provenance["hwa"] = dataclasses.asdict(hwa)
    provenance["command"] = "neuroemu " + " ".join(sys.argv[1:]) if sys.argv[1:] else "neuroemu train"
    save_checkpoint(result.model, args.out, dataset=args.dataset, normalize=NORMALIZE, provenance=provenance)
    print(f"test accuracy {result.test_accuracy[-1]:.4f} after {args.epochs} epochs "
          f"({result.seconds:.1f} s); wrote {args.out}")
    return 0


def _hwa_config(args: argparse.Namespace) -> HwaConfig | None:
    """The hardware-aware training settings of ``args``; ``None`` without ``--hwa`` (whose options are then
    refused: they would be silently ignored)."""
    if args.hwa is None:
        given = [flag for flag, value, default in (
            ("--hwa-noise-scale", args.hwa_noise_scale, 1.0), ("--hwa-dac-bits", args.hwa_dac_bits, 8),
            ("--hwa-adc-bits", args.hwa_adc_bits, 8), ("--hwa-time", args.hwa_time, 0.0),
            ("--hwa-no-drift-compensation", args.hwa_no_drift_compensation, False)) if value != default]
        if given:
            raise UsageError(f"{', '.join(given)} need --hwa DEVICE")
        return None
    try:
        card = load_card(args.hwa)
    except UnknownCardError as exc:
        raise UsageError(f"--hwa: {exc}") from exc
    if card.kind not in MODELS:
        raise UsageError(f"--hwa: card {card.name!r} is of kind {card.kind!r}, not a device; device kinds: "
                         f"{', '.join(sorted(MODELS))}")
    if device_model(card).levels == 2:
        raise UsageError(f"--hwa: {card.name!r} is a two-level (binary) device; hardware-aware training "
                         "supports analog devices (one cell pair per weight)")
    try:
        return HwaConfig(device=args.hwa, noise_scale=args.hwa_noise_scale, time=args.hwa_time,
                         drift_compensation=not args.hwa_no_drift_compensation,
                         dac_bits=args.hwa_dac_bits, adc_bits=args.hwa_adc_bits, seed=args.seed + 3)
    except ValueError as exc:
        raise UsageError(f"--hwa: {exc}") from exc


def _model_options(args: argparse.Namespace) -> dict[str, str | bool]:
    options: dict[str, str | bool] = {"activation": args.activation, "pooling": args.pooling}
    if args.lrn:
        options["lrn"] = True
    if args.quant is not None:
        try:
            parse_scheme(args.quant)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        options["quant"] = args.quant
    return options
