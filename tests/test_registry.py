"""The substrate registry: a new substrate is its own module plus one registration, nothing else.

The toy below is a whole substrate — "digital int4": weights rounded to 4-bit integers per output channel,
every multiply-accumulate recorded as an ``int4_mac`` event and priced as a 4-bit multiply plus a 4-bit add
from the digital cards. It lives in this file only; registering it is the one line that makes ``neuroemu
energy --substrate int4`` run it, with its spec fields as flags and its price rules in the book.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from neuroemu import substrates
from neuroemu.cli import main
from neuroemu.cost.pricing import DigitalOps, Rule
from neuroemu.cost.rules import CircuitCards
from neuroemu.ledger import RecordsEvents
from neuroemu.registration import PriceContext, Registration
from neuroemu.specs import option, validate


class Int4Network(RecordsEvents, nn.Module):
    """A float model whose Linear / Conv2d weights are rounded to ``bits``-bit integers per output row."""

    def __init__(self, model: nn.Module, bits: int) -> None:
        super().__init__()
        self.model, self.bits = model, bits
        levels = 2 ** (bits - 1) - 1
        for module in model.modules():
            if isinstance(module, nn.Linear | nn.Conv2d):
                w = module.weight.data
                scale = w.flatten(1).abs().amax(1).clamp(min=1e-12).view(-1, *[1] * (w.dim() - 1)) / levels
                module.weight.data = torch.round(w / scale) * scale
                module.register_forward_hook(self._count)

    def _count(self, module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        if self.ledger is not None:
            per_output = module.weight[0].numel()
            self.ledger.record("int4_mac", output.numel() * per_output, layer=None, bits=self.bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@dataclass(frozen=True, kw_only=True)
class Int4:
    weight_bits: int = option(4, "weight width in bits", kind=int, ge=2, le=8)

    def __post_init__(self) -> None:
        validate(self)

    def apply(self, model: nn.Module) -> nn.Module:
        return Int4Network(model, self.weight_bits)


def _rules(context: PriceContext) -> list[Rule]:
    ops = DigitalOps(context.cards.digital)
    return [Rule("int4_mac", lambda attrs: (ops.energy("mult", int(attrs["bits"])),
                                            ops.energy("add", int(attrs["bits"]))))]


TOY = Registration(name="int4", spec=Int4, summary="a toy: 4-bit integer weights", price_rules=_rules)


@pytest.fixture
def toy():
    substrates.register(TOY)
    yield TOY
    substrates.unregister("int4")


def test_a_registered_substrate_runs_and_is_priced_by_the_energy_command(toy, capsys, data_root):
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "int4", "--images", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["substrate"] == "int4" and result["options"]["weight_bits"] == 4
    macs = 416_520  # LeNet-5's multiply-accumulates per image
    ops = DigitalOps(CircuitCards.load().digital)
    expected = macs * (ops.energy("mult", 4).energy_j + ops.energy("add", 4).energy_j)
    assert result["energy_per_inference_j"] == pytest.approx(expected, rel=1e-12)
    assert result["unpriced"] == []
    # its spec field is a flag, validated from its declaration
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "int4", "--images", "1",
                 "--weight-bits", "9"]) == 2
    assert "weight_bits must be an integer in 2..8" in capsys.readouterr().err
    # ... and refused for another substrate
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "digital", "--images", "1",
                 "--weight-bits", "4"]) == 2
    assert "--weight-bits applies to --substrate int4" in capsys.readouterr().err


def test_registry_lists_the_built_in_substrates_in_order_and_refuses_doubles():
    assert substrates.names()[:5] == ["digital", "lowbit", "crossbar", "stochastic", "spiking"]
    with pytest.raises(ValueError, match="already registered"):
        substrates.register(substrates.get("digital"))
    with pytest.raises(KeyError, match="available substrates: digital, lowbit, crossbar"):
        substrates.get("quantum")


def test_a_registration_is_checked():
    with pytest.raises(ValueError, match="lowercase"):
        Registration(name="Int 4", spec=Int4, summary="")
    with pytest.raises(TypeError, match="apply"):
        Registration(name="int4", spec=int, summary="")


def test_substrates_command_lists_them_and_shows_every_spec_field(capsys):
    assert main(["substrates", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in listed][:5] == ["digital", "lowbit", "crossbar", "stochastic", "spiking"]
    assert {"sc_gate", "sc_rng"} <= set(listed[3]["card_roles"])
    assert main(["substrates", "show", "crossbar", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    fields = {f["field"]: f for f in shown["fields"]}
    assert fields["dac_bits"]["default"] == "None" and fields["dac_bits"]["command-line default"] == "8"
    assert fields["array"]["command-line default"] == "256x256" and fields["array"]["flag"] == "--array"
    assert main(["substrates", "show", "quantum"]) == 2
    assert "available substrates: digital" in capsys.readouterr().err
