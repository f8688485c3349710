"""``Digital(...)``: the digital MAC-datapath substrate spec and the network it maps a model to."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neuroemu.cards import Card, CardError, load_card
from neuroemu.digital.macs import count_macs
from neuroemu.ledger import RecordsEvents
from neuroemu.specs import option, validate

__all__ = ["Digital", "DigitalNetwork"]


@dataclass(frozen=True, kw_only=True)
class Digital:
    """The float network on a digital datapath of ``bits``-bit multiply-accumulates (see the package).

    Every field is declared once below. ``weight_memory`` names a ``memory`` card from which the weights are
    fetched once per image (a weight-stationary datapath's lower bound on weight traffic).
    """

    bits: int = option(8, "MAC datapath width in bits (8 and 32 have published cards)", kind=int, ge=1)
    weight_memory: str | Card | None = option(
        None, "memory card the weights are fetched from once per image (e.g. sram-32kb-horowitz-45nm, "
        "dram-horowitz-45nm)", kind="card", optional=True, none="weights held in the datapath, not fetched")

    def __post_init__(self) -> None:
        validate(self)

    def apply(self, model: nn.Module) -> nn.Module:
        """Wrap ``model`` (a private copy) in a :class:`DigitalNetwork` that records its MACs."""
        memory = self.weight_memory
        if isinstance(memory, str):
            memory = load_card(memory, kind="memory")
        elif memory is not None and memory.kind != "memory":
            raise CardError(f"weight_memory card {memory.name!r} has kind {memory.kind!r}, not 'memory'")
        return DigitalNetwork(model, bits=self.bits, weight_memory=memory)


class DigitalNetwork(RecordsEvents, nn.Module):
    """``model`` unchanged; while a ledger is attached, every forward records its ``mac`` (and
    ``memory_read``) events per layer, named as in ``model``."""

    def __init__(self, model: nn.Module, *, bits: int, weight_memory: Card | None) -> None:
        super().__init__()
        self.model = model
        self.bits = bits
        self.weight_memory = weight_memory

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.ledger is None:
            return self.model(x)
        with count_macs(self.model, self.ledger, bits=self.bits, weight_memory=self.weight_memory):
            return self.model(x)

    def extra_repr(self) -> str:
        memory = self.weight_memory.name if self.weight_memory is not None else None
        return f"bits={self.bits}, weight_memory={memory}"
