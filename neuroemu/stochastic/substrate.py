"""The stochastic-computing substrate as it registers with neuroemu: one :class:`Registration`.

- spec: :class:`~neuroemu.stochastic.spec.Stochastic` (SC-DCNN blocks, Ren et al. ASPLOS 2017); nothing to
  calibrate, one chip per image;
- cards: the ``sc_block`` cards of :class:`~neuroemu.cost.stochastic.ScCards` (UnarySim syntheses), one
  ``--card ROLE=NAME`` per role; ``sc_rng`` takes comma-separated Sobol RNG cards of several widths;
- price rules and floorplan: :func:`~neuroemu.cost.stochastic.stochastic_rules` and
  :func:`~neuroemu.cost.stochastic.stochastic_floorplan`, which read the generator widths, their sharing
  and the stream length from the ledger's events, so a saved ledger prices again without any option;
- demo: the APC blocks against bitstream length, the row at ``L = 1024`` in the final table; three
  per-layer designs (MUX in fc3, MUX in conv1, convolutions at half the length) at ``L = 256`` and 1024,
  their rows at ``L = 1024`` in the final table beside the all-APC one.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from neuroemu.cost.floorplan import Floorplan
from neuroemu.cost.pricing import DigitalOps, Rule
from neuroemu.cost.stochastic import DEFAULT_SC_CARDS, ScCards, stochastic_floorplan, stochastic_rules
from neuroemu.nets import load_checkpoint
from neuroemu.registration import DemoBlock, PriceContext, Registration
from neuroemu.stochastic.spec import Stochastic

__all__ = ["CARD_ROLES", "REGISTRATION", "load_cards", "price_rules"]

_ROLE_HELP = {
    "sc_gate": "SC multiplier: 2-input AND gate",
    "sc_mux": "MUX scaled adder",
    "sc_or": "OR adder",
    "sc_counter": "exact parallel counter",
    "sc_apc": "approximate parallel counter of Kim et al.",
    "sc_rng": "comma-separated Sobol RNG cards of several widths (other widths interpolated)",
}


def _default(role: str) -> str:
    names = DEFAULT_SC_CARDS[role]
    return ",".join(names) if isinstance(names, tuple) else str(names)


#: ``--card ROLE=NAME`` roles of the SC substrate → help (with the default card)
CARD_ROLES: dict[str, str] = {role: f"{text}; sc_block card, default {_default(role)}"
                              for role, text in _ROLE_HELP.items()}


def load_cards(paths: Sequence[Path | str], names: Mapping[str, str]) -> ScCards:
    """The SC cards with the ``--card`` replacements ``names`` (role → name; ``sc_rng``: names joined by
    commas), looked up in the card search path plus ``paths``."""
    chosen: dict[str, object] = {role: tuple(name.split(",")) if role == "sc_rng" else name
                                 for role, name in names.items()}
    return ScCards.load(paths, **chosen)


def price_rules(context: PriceContext) -> list[Rule]:
    """The ``sc_*`` rules from the SC cards, the digital adder cards and the accumulator width."""
    return stochastic_rules(context.own_cards, DigitalOps(context.cards.digital),
                            accumulator_bits=context.accumulator_bits)


def _check_model(spec: Stochastic, model: str) -> None:
    """Per-layer designs must name layers of the model (a shipped name or a checkpoint path)."""
    if spec.blocks:
        spec.check_model(load_checkpoint(model).build())


def _floorplan(spec: Any, _model: nn.Module, context: PriceContext) -> Floorplan | None:
    """Latency and SC block area, from the ledger and the SC cards alone; none for the analytic mode, which
    records no events (it draws no streams)."""
    if getattr(spec, "mode", "bitexact") == "analytic":
        return None
    return stochastic_floorplan(context.ledger, context.inferences, context.own_cards)


REGISTRATION = Registration(
    name="stochastic",
    spec=Stochastic,
    summary="stochastic computing: SC-DCNN blocks on L-bit streams, every bit emulated (Ren et al. 2017)",
    check_model=_check_model,
    card_roles=CARD_ROLES,
    load_cards=load_cards,
    price_rules=price_rules,
    floorplan=_floorplan,
    # SC-DCNN's APC blocks against bitstream length, each with its tanh network; then per-layer designs
    # (SC-DCNN's trade-off of accuracy against energy): a MUX block in one layer, shorter convolution streams
    demo=(DemoBlock({"zip": {"block": ["apc-max-btanh", "apc-avg-btanh"],
                             "model": ["lenet5-mnist-tanh", "lenet5-mnist-tanh-avg"]},
                     "length": [64, 256, 1024], "trials": 3, "limit": 500},
                    quick={"length": [64, 1024], "trials": 2, "limit": 200},
                    headline={"length": 1024}),
          DemoBlock({"model": "lenet5-mnist-tanh", "length": [256, 1024], "trials": 1, "limit": 500,
                     "blocks": ["fc3=mux-max-stanh", "conv1=mux-max-stanh",
                                "conv1=length=512,conv2=length=512"]},
                    quick={"length": [256], "limit": 100},
                    headline={"length": 1024})),
)
