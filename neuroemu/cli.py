"""The ``neuroemu`` command line: ``demo``, ``train``, ``eval`` and ``cards``.

Unknown models, data sets and cards exit with status 2 and a message listing the known ones, as argparse
does for its own usage errors.
"""

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from neuroemu import __version__

EXIT_FAILURE = 1
EXIT_USAGE = 2

# Modules that add sub-commands of their own: each has ``register(subparsers) -> None``, which adds its
# parsers with ``set_defaults(run=FUNCTION)``; FUNCTION(args) returns the exit status and may raise
# ``UsageError`` for an unknown name (exit status 2).
# Modules whose ``demo_table(limit=N) -> str`` adds a section to ``neuroemu demo``.
DEMO_SECTIONS: list[str] = ["neuroemu.crossbar.commands", "neuroemu.stochastic.commands",
                             "neuroemu.spiking.commands", "neuroemu.cost.commands"]
DEMO_EMULATION_IMAGES = 1000

COMMAND_MODULES: list[str] = ["neuroemu.crossbar.commands", "neuroemu.stochastic.commands",
                               "neuroemu.spiking.commands", "neuroemu.cost.commands"]


class UsageError(Exception):
    """A bad name or value from the user: printed, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neuroemu`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    from neuroemu.cards import CardError
    from neuroemu.data import DataError
    from neuroemu.nets import CheckpointError

    try:
        return args.run(args)
    except UsageError as exc:
        print(f"neuroemu {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CardError, DataError, CheckpointError) as exc:
        print(f"neuroemu {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuroemu",
        description="Emulate trained CNNs on neuromorphic and stochastic-computing hardware.",
    )
    parser.add_argument("--version", action="version", version=f"neuroemu {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="the shipped networks on every substrate: accuracy tables")
    demo.add_argument("--limit", type=_positive_int,
                      help=f"use only the first N test images (emulated sections default to "
                           f"{DEMO_EMULATION_IMAGES})")
    demo.set_defaults(run=_run_demo)

    train = sub.add_parser("train", help="train a network and save its checkpoint")
    train.add_argument("arch", help="architecture (lenet5)")
    train.add_argument("--dataset", default="mnist", help="mnist or fashion-mnist (default mnist)")
    train.add_argument("--epochs", type=_positive_int, default=10)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--batch-size", type=_positive_int, default=128)
    train.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (cosine decay to 0)")
    train.add_argument("--weight-decay", type=float, default=0.0)
    train.add_argument("--activation", choices=["relu", "tanh"], default="relu")
    train.add_argument("--lrn", action="store_true",
                       help="local response normalisation after the first pooling (lrn1)")
    train.add_argument("--pooling", choices=["max", "avg"], default="max")
    train.add_argument("--quant", metavar="SCHEME",
                       help="low-bit training: binaryconnect, bnn, xnor, ternary or dorefa:W,A")
    train.add_argument("--limit", type=_positive_int, help="train on the first N training images only")
    train.add_argument("--shift", type=int, default=0, metavar="PIXELS",
                       help="augmentation: translate each training image by a random 0..PIXELS pixels per "
                            "axis, either way (default 0: none)")
    train.add_argument("--out", type=Path, required=True, help="checkpoint file to write (.pt)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_run_train)

    ev = sub.add_parser("eval", help="test accuracy of a shipped model or checkpoint")
    ev.add_argument("--model", required=True, help="shipped model name (lenet5-mnist, ...) or .pt path")
    ev.add_argument("--dataset", help="data set (default: the one the model was trained on)")
    ev.add_argument("--limit", type=_positive_int, help="use only the first N test images")
    ev.add_argument("--batch-size", type=_positive_int, default=1000)
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ev.set_defaults(run=_run_eval)

    cards = sub.add_parser("cards", help="list or show device and circuit cards")
    cards_sub = cards.add_subparsers(dest="cards_command", metavar="ACTION", required=True)
    cards_list = cards_sub.add_parser("list", help="every card in the search path")
    cards_list.add_argument("--json", action="store_true")
    cards_list.add_argument("--path", type=Path, action="append", default=[], help="extra card folder")
    cards_list.set_defaults(run=_run_cards_list)
    cards_show = cards_sub.add_parser("show", help="one card's fields in SI units and its source")
    cards_show.add_argument("name", help="card name or path of a .toml card")
    cards_show.add_argument("--json", action="store_true")
    cards_show.add_argument("--path", type=Path, action="append", default=[], help="extra card folder")
    cards_show.set_defaults(run=_run_cards_show)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def optional_bits(text: str, option: str) -> int | None:
    """A converter width from the command line: a positive integer, or ``none`` (no converter)."""
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{option} must be an integer or 'none', got {text!r}") from None
    if value < 1:
        raise UsageError(f"{option} must be >= 1, got {value}")
    return value


def optional_pair(text: str | None, option: str) -> tuple[int, int] | None:
    """``ROWSxCOLS`` (e.g. ``256x256``) from the command line, or ``none`` / absent."""
    if text is None or text.lower() == "none":
        return None
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"{option} must look like 256x256 (or 'none'), got {text!r}") from None
    return rows, cols


def positive_int_list(text: str, option: str) -> list[int]:
    """Comma-separated positive integers from the command line (``16,32,64``), sorted, each once."""
    message = f"{option} must be comma-separated positive integers, got {text!r}"
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise UsageError(message) from None
    if not values or values[0] < 1:
        raise UsageError(message)
    return values


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _check_dataset(name: str | None) -> None:
    from neuroemu.data import DATASETS

    if name is not None and name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")


def _evaluate(model: str, dataset: str | None, limit: int | None, batch_size: int = 1000) -> dict:
    from neuroemu.experiments.evaluate import evaluate_model
    from neuroemu.nets import UnknownModelError

    _check_dataset(dataset)
    try:
        return evaluate_model(model, dataset, limit, batch_size)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from exc


def _run_demo(args: argparse.Namespace) -> int:
    from neuroemu.nets import load_checkpoint, shipped_models
    from neuroemu.report import format_table

    rows = []
    for model in shipped_models():
        result = _evaluate(model, None, args.limit)
        weights = load_checkpoint(model).config.get("quant", "fp32")
        rows.append([model, weights, result["dataset"], result["n_images"],
                     f"{100 * result['accuracy']:.2f} %", result["macs_per_image"], result["wall_s"]])
    print("Shipped networks on their test sets (digital execution)\n")
    print(format_table(["model", "weights", "dataset", "images", "accuracy", "MACs/image", "wall s"], rows),
          flush=True)
    for module in DEMO_SECTIONS:
        print("\n" + importlib.import_module(module).demo_table(limit=args.limit or DEMO_EMULATION_IMAGES),
              flush=True)
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from neuroemu.nets import ARCHITECTURES, TrainConfig, save_checkpoint, train
    from neuroemu.nets.train import NORMALIZE

    if args.arch not in ARCHITECTURES:
        raise UsageError(f"unknown architecture {args.arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    _check_dataset(args.dataset)
    try:
        config = TrainConfig(arch=args.arch, dataset=args.dataset, epochs=args.epochs, seed=args.seed,
                             batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                             limit=args.limit, shift=args.shift, model=_model_options(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    result = train(config, progress=not args.quiet)
    provenance = result.provenance()
    provenance["command"] = "neuroemu " + " ".join(sys.argv[1:]) if sys.argv[1:] else "neuroemu train"
    save_checkpoint(result.model, args.out, dataset=args.dataset, normalize=NORMALIZE, provenance=provenance)
    print(f"test accuracy {result.test_accuracy[-1]:.4f} after {args.epochs} epochs "
          f"({result.seconds:.1f} s); wrote {args.out}")
    return 0


def _model_options(args: argparse.Namespace) -> dict[str, str | bool]:
    from neuroemu.lowbit.schemes import parse_scheme

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


def _run_eval(args: argparse.Namespace) -> int:
    from neuroemu.report import format_table

    result = _evaluate(args.model, args.dataset, args.limit, args.batch_size)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(list(result), [list(result.values())]))
    return 0


def _run_cards_list(args: argparse.Namespace) -> int:
    from neuroemu.cards import card_to_dict, list_cards
    from neuroemu.report import format_table

    cards = list_cards(args.path)
    if args.json:
        print(json.dumps([card_to_dict(card) for card in cards]))
    else:
        rows = [[c.name, c.kind, c.description, f"{c.source.citation}, {c.source.location}"] for c in cards]
        print(format_table(["name", "kind", "description", "source"], rows))
    return 0


def _run_cards_show(args: argparse.Namespace) -> int:
    from neuroemu.cards import UnknownCardError, card_rows, card_to_dict, load_card
    from neuroemu.report import format_table

    try:
        card = load_card(args.name, args.path)
    except UnknownCardError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps(card_to_dict(card)))
    else:
        print(f"{card.name} ({card.kind}): {card.description}")
        print(f"source: {card.source.citation}, {card.source.location}")
        print(f"file:   {card.path}\n")
        print(format_table(["field", "value"], card_rows(card)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
