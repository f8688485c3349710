"""Run a network on a substrate while its ledger records, then price the ledger: energy per inference.

:func:`measure` is what the ``energy`` command calls; each substrate is one function that builds the
emulated model, runs ``images`` through it inside the substrate's recording context and returns the ledger
with the price rules that substrate needs beyond :func:`~neuroemu.cost.rules.standard_book`:

- ``digital``: the float network on a MAC datapath of ``bits`` (8 or 32 by default cards): ``mac`` events
  from :func:`~neuroemu.cost.count_macs`, priced mult(bits) + add(bits) (the common reference);
- ``lowbit``: a network trained with ``--quant`` run bit-exactly through ``LowBit()``;
- ``crossbar``: the network mapped onto ``Crossbar(device, array, dac_bits, adc_bits)``, converter ranges
  calibrated on ``calibration`` images, plus the rules of :func:`~neuroemu.cost.crossbar.crossbar_rules`
  (cell reads, column ADCs) from the conductances its events carry;
- ``stochastic``: a tanh network run bit-exactly as ``Stochastic(length, block, sng, seed)``, its ``sc_*``
  events priced by :mod:`neuroemu.cost.stochastic` with shared or private number generators (``sharing``);
- ``spiking``: a ReLU network converted to IF neurons, ``Spiking(timesteps, encoding, ...)`` with its scales
  calibrated on ``calibration`` images, its events priced by a ``spiking_core`` card
  (:mod:`neuroemu.cost.spiking`, default :data:`~neuroemu.cost.spiking.DEFAULT_SPIKING_CARD`).

A crossbar or stochastic measurement also carries a :class:`~neuroemu.cost.floorplan.Floorplan` (latency,
converter or SC block area). :meth:`Measurement.saved` / :func:`reprice` price a stored run again with
other cards without emulating it. A substrate whose package cannot be imported is reported by
:func:`available_substrates` as unavailable.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuroemu.cards import Card, load_card
from neuroemu.cost.crossbar import crossbar_rules
from neuroemu.cost.floorplan import Floorplan
from neuroemu.cost.pricing import DigitalOps, EnergyReport, PriceBook, PricingError, Rule, price
from neuroemu.cost.programming import ProgrammingEnergy
from neuroemu.cost.rules import CircuitCards, memory_rule, standard_book
from neuroemu.cost.spiking import DEFAULT_SPIKING_CARD, spiking_rules
from neuroemu.cost.stochastic import SHARING, ScCards, stochastic_floorplan, stochastic_rules
from neuroemu.ledger import Ledger, recording

__all__ = ["SUBSTRATES", "Measurement", "Recorded", "available_substrates", "measure",
           "record_substrate", "reprice"]

#: substrate name → the module it needs
SUBSTRATES: dict[str, str] = {
    "digital": "neuroemu.cost.macs",
    "lowbit": "neuroemu.lowbit",
    "crossbar": "neuroemu.crossbar",
    "stochastic": "neuroemu.stochastic",
    "spiking": "neuroemu.spiking",
}


#: format tag of a saved run (Measurement.saved / reprice)
SAVED_FORMAT = "neuroemu-energy-run/1"

def available_substrates() -> dict[str, str | None]:
    """Each substrate → ``None`` when usable, else why its module fails to import."""
    status: dict[str, str | None] = {}
    for name, module in SUBSTRATES.items():
        try:
            importlib.import_module(module)
            status[name] = None
        except ImportError as exc:
            status[name] = f"{module} cannot be imported ({exc})"
    return status


@dataclass(frozen=True)
class Recorded:
    """A substrate run: its ledger, the inferences it covers (images × trials), the price rules it needs
    beyond the standard book, the options used and the emulated model."""

    ledger: Ledger
    inferences: int
    rules: list[Rule]
    options: dict[str, Any]
    emulated: nn.Module
    devices: tuple[Card, ...] = ()  #: crossbar: the device cards its events name


@dataclass(frozen=True)
class Measurement:
    """A priced run: the ledger, the energy report, the floorplan (crossbar only) and what was run."""

    substrate: str
    ledger: Ledger
    report: EnergyReport
    options: dict[str, Any] = field(default_factory=dict)
    floorplan: Floorplan | None = None
    programming: ProgrammingEnergy | None = None  #: crossbar: one-time energy to program the chip

    def saved(self) -> dict[str, Any]:
        """What :func:`reprice` needs to price this run again with other cards, without emulating it:
        the ledger (crossbar events carry their conductances), the inferences it covers and the options."""
        return {"format": SAVED_FORMAT, "substrate": self.substrate, "inferences": self.report.images,
                "ledger": self.ledger.to_list(), "options": dict(self.options)}


_Run = Recorded


def _digital(model: nn.Module, images: torch.Tensor, *, bits: int = 32,
             weight_memory: str | Card | None = None, **_: Any) -> _Run:
    from neuroemu.cost.macs import count_macs

    memory = load_card(weight_memory, kind="memory") if isinstance(weight_memory, str) else weight_memory
    ledger = Ledger()
    with torch.inference_mode(), count_macs(model, ledger, bits=bits, weight_memory=memory):
        model(images)
    rules = [memory_rule(memory)] if memory is not None else []
    options = {"bits": bits, "weight_memory": memory.name if memory is not None else None}
    return Recorded(ledger, len(images), rules, options, model)


def _lowbit(model: nn.Module, images: torch.Tensor, **_: Any) -> _Run:
    import neuroemu
    from neuroemu.lowbit import LowBit

    emulated = neuroemu.map(model, LowBit())
    ledger = Ledger()
    with torch.inference_mode(), recording(emulated, ledger):
        emulated(images)
    return Recorded(ledger, len(images), [], {}, emulated)


def _crossbar(model: nn.Module, images: torch.Tensor, *, device: str | Card = "rram-wan2022",
              array: tuple[int, int] | None = (256, 256), dac_bits: int | None = 8, adc_bits: int | None = 8,
              input_mode: str = "dac", calibration: torch.Tensor | None = None,
              slicing: tuple[int, int] | None = None, **_: Any) -> _Run:
    import neuroemu
    from neuroemu.crossbar import Crossbar, calibrate
    from neuroemu.crossbar.spec import default_slicing

    device = load_card(device) if isinstance(device, str) else device
    slicing = slicing if slicing is not None else default_slicing(device)
    spec = Crossbar(device=device, array=array, dac_bits=dac_bits, adc_bits=adc_bits, input_mode=input_mode,
                    slicing=slicing)
    emulated = neuroemu.map(model, spec)
    if dac_bits is not None or adc_bits is not None:
        calibrate(emulated, calibration if calibration is not None else images)
    ledger = Ledger()
    with torch.inference_mode(), recording(emulated, ledger):
        emulated(images)
    options = {"device": device.name,
               "array": list(array) if array else None, "dac_bits": dac_bits, "adc_bits": adc_bits,
               "input_mode": input_mode, "slicing": list(slicing) if slicing else None, "trials": spec.trials}
    return Recorded(ledger, len(images) * spec.trials, [], options, emulated, (device,))


def _stochastic(model: nn.Module, images: torch.Tensor, *, length: int = 1024, block: str = "apc-max-btanh",
                sng: str = "sobol", seed: int = 0, sharing: str = "shared", mux_select: str = "uniform",
                counter: str = "exact", **_: Any) -> _Run:
    import neuroemu
    from neuroemu.stochastic import Stochastic

    if sharing not in SHARING:
        raise ValueError(f"sharing must be one of {list(SHARING)}, got {sharing!r}")
    spec = Stochastic(length=length, block=block, sng=sng, seed=seed, mux_select=mux_select, counter=counter)
    emulated = neuroemu.map(model, spec)
    ledger = Ledger()
    with torch.inference_mode(), recording(emulated, ledger):
        emulated(images)
    options = {"length": length, "block": block, "sng": sng, "seed": seed, "sharing": sharing,
               "mux_select": mux_select, "counter": counter}
    return Recorded(ledger, len(images), [], options, emulated)


def _spiking(model: nn.Module, images: torch.Tensor, *, timesteps: int = 64, encoding: str = "constant",
             reset: str = "subtract", percentile: float = 99.9, seed: int = 0, hops_per_spike: int = 1,
             calibration: torch.Tensor | None = None, **_: Any) -> _Run:
    import neuroemu
    from neuroemu.spiking import Spiking, calibrate

    spec = Spiking(timesteps=timesteps, encoding=encoding, reset=reset, percentile=percentile, seed=seed,
                   hops_per_spike=hops_per_spike)
    emulated = neuroemu.map(model, spec)
    calibrate(emulated, calibration if calibration is not None else images)
    ledger = Ledger()
    with torch.inference_mode(), recording(emulated, ledger):
        emulated(images)
    options = {"timesteps": timesteps, "encoding": encoding, "reset": reset, "percentile": percentile,
               "seed": seed, "hops_per_spike": hops_per_spike}
    return Recorded(ledger, len(images), [], options, emulated)


_RUNNERS: dict[str, Callable[..., _Run]] = {
    "digital": _digital,
    "lowbit": _lowbit,
    "crossbar": _crossbar,
    "stochastic": _stochastic,
    "spiking": _spiking,
}


def _sc_rules(options: Mapping[str, Any], cards: CircuitCards, sc_cards: ScCards | None,
              accumulator_bits: int) -> list[Rule]:
    """The ``sc_*`` rules of a stochastic run with ``options`` (length, sharing)."""
    return stochastic_rules(sc_cards if sc_cards is not None else ScCards.load(), DigitalOps(cards.digital),
                            length=options["length"], sharing=options["sharing"],
                            accumulator_bits=accumulator_bits)


def record_substrate(substrate: str, model: nn.Module, images: torch.Tensor, **options: Any) -> _Run:
    """Run ``images`` through ``model`` on ``substrate`` inside its recording context."""
    if substrate not in _RUNNERS:
        raise ValueError(f"unknown substrate {substrate!r}; known: {', '.join(_RUNNERS)}")
    if len(images) == 0:
        raise ValueError("need at least one image")
    model.eval()
    return _RUNNERS[substrate](model, images, **options)


def measure(substrate: str, model: nn.Module, images: torch.Tensor, *, cards: CircuitCards | None = None,
            sc_cards: ScCards | None = None, spiking_card: Card | None = None, accumulator_bits: int = 16,
            multiplier_bits: int = 8, columns_per_adc: int = 128, **options: Any) -> Measurement:
    """Run and price: energy of ``model`` on ``substrate`` for ``images`` (see the module docstring).

    For ``crossbar`` the measurement also holds a :class:`~neuroemu.cost.floorplan.Floorplan` (latency per
    inference and converter area, with ``columns_per_adc`` columns sharing one ADC); for ``stochastic`` one
    from :func:`~neuroemu.cost.stochastic.stochastic_floorplan` (SC blocks from ``sc_cards``).
    """
    cards = cards if cards is not None else CircuitCards.load()
    run = record_substrate(substrate, model, images, **options)
    extra = list(run.rules)
    if substrate == "crossbar":
        extra += crossbar_rules(run.ledger, cards, devices=run.devices)
    if substrate == "stochastic":
        sc_cards = sc_cards if sc_cards is not None else ScCards.load()
        extra += _sc_rules(run.options, cards, sc_cards, accumulator_bits)
    if substrate == "spiking":
        extra += _spiking_rules(spiking_card)
    book: PriceBook = standard_book(cards, accumulator_bits=accumulator_bits, multiplier_bits=multiplier_bits,
                                    extra=extra)
    report = price(run.ledger, book, images=run.inferences)
    used = {**run.options, "accumulator_bits": accumulator_bits, "multiplier_bits": multiplier_bits}
    floorplan, programming = None, None
    if substrate == "crossbar":
        from neuroemu.crossbar.hardware import crossbar_floorplan, programming_energy

        floorplan = crossbar_floorplan(run.emulated, run.ledger, run.inferences, cards,
                                       columns_per_adc=columns_per_adc)
        used["columns_per_adc"] = columns_per_adc
        programming = programming_energy(run.emulated)
    elif substrate == "stochastic":
        floorplan = stochastic_floorplan(run.ledger, run.inferences, length=run.options["length"],
                                         cards=sc_cards, sharing=run.options["sharing"])  # type: ignore[arg-type]
    return Measurement(substrate=substrate, ledger=run.ledger, report=report, options=used,
                       floorplan=floorplan, programming=programming)


def reprice(saved: Mapping[str, Any], *, cards: CircuitCards | None = None, sc_cards: ScCards | None = None,
            spiking_card: Card | None = None, accumulator_bits: int = 16, multiplier_bits: int = 8,
            paths: Sequence[Path | str] = ()) -> EnergyReport:
    """Price a saved run (:meth:`Measurement.saved`) again with ``cards``, without emulating it.

    Crossbar cell reads and column ADCs are repriced from the conductances their events carry and the
    device card of that name (looked up in the card search path plus ``paths``, so an edited device card
    changes the price).
    """
    if saved.get("format") != SAVED_FORMAT:
        raise PricingError(f"not a saved neuroemu energy run (format {SAVED_FORMAT!r} expected)")
    try:
        ledger = Ledger.from_list(saved["ledger"])
        inferences = saved["inferences"]
    except (KeyError, TypeError, ValueError) as exc:
        raise PricingError(f"saved run is damaged: {exc}") from exc
    cards = cards if cards is not None else CircuitCards.load()
    extra = crossbar_rules(ledger, cards, paths)
    memory = saved.get("options", {}).get("weight_memory")
    if memory is not None:
        extra.append(memory_rule(load_card(memory, paths, kind="memory")))
    if saved.get("substrate") == "stochastic":
        try:
            extra += _sc_rules(saved["options"], cards, sc_cards, accumulator_bits)
        except (KeyError, TypeError) as exc:
            raise PricingError(f"saved stochastic run is damaged: no {exc} in its options") from exc
    if saved.get("substrate") == "spiking":
        extra += _spiking_rules(spiking_card, paths)
    book = standard_book(cards, accumulator_bits=accumulator_bits, multiplier_bits=multiplier_bits,
                         extra=extra)
    return price(ledger, book, images=inferences)


def _spiking_rules(card: Card | None, paths: Sequence[Path | str] = ()) -> list[Rule]:
    """The spiking events' rules from ``card`` (default :data:`DEFAULT_SPIKING_CARD`)."""
    return spiking_rules(card if card is not None else load_card(DEFAULT_SPIKING_CARD, paths,
                                                                 kind="spiking_core"))
