"""Fault-tolerant mapping: spare columns compute what fault-free columns compute; the column-scale re-fit;
the repair's extra reads and conversions are ledger events that get priced; the floorplan counts spares."""

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cost import Ledger, price, recording
from neuroemu.cost.rules import CircuitCards, standard_book
from neuroemu.crossbar import Crossbar, crossbar_layers
from neuroemu.crossbar.repair import RepairedCells, RepairPlan, parse_repair
from neuroemu.crossbar.substrate import REGISTRATION
from neuroemu.devices import StuckAtFaults
from neuroemu.registration import PriceContext
from neuroemu.specs import SpecError


def _linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(40, 12)


def _layer(spec: Crossbar, linear: nn.Linear):
    model = neuroemu.map(nn.Sequential(linear), spec)
    return model, crossbar_layers(model)[0]


def test_spare_columns_compute_like_fault_free_columns():
    linear = _linear()
    x = torch.rand(5, 40, generator=torch.Generator().manual_seed(1))
    clean_model, _ = _layer(Crossbar(device="ideal", trials=3), linear)
    clean = clean_model(x).reshape(3, 5, 12).transpose(0, 1)  # (trials, images) → (images, trials)
    faulty_model, layer = _layer(Crossbar(device="ideal", trials=3, stuck_on_rate=0.05, stuck_off_rate=0.05),
                                 linear)
    faulty = faulty_model(x).reshape(3, 5, 12).transpose(0, 1)  # (trials, images) → (images, trials)
    # the same layer with 4 fault-free spare columns (a test chip whose spares happen to be perfect)
    layer.cells = RepairedCells(layer.cells, RepairPlan(spares=4), spare_faults=StuckAtFaults(0.0, 0.0))
    layer.program()
    repaired = faulty_model(x).reshape(3, 5, 12).transpose(0, 1)  # (trials, images) → (images, trials)
    remapped = layer.cells.remapped
    assert remapped.sum(1).tolist() == [4, 4, 4]  # at 10 % stuck cells every column has faults
    for t in range(3):
        cols = remapped[t]
        assert torch.allclose(repaired[:, t, cols], clean[:, t, cols], atol=1e-5)
        assert not torch.allclose(faulty[:, t, cols], clean[:, t, cols], atol=1e-3)
        assert torch.equal(repaired[:, t, ~cols], faulty[:, t, ~cols])  # the rest is untouched
    # the most damaged columns were chosen
    stuck = sum((s != 0).sum(dim=(1, 3)) for s in layer.cells.stuck)
    for t in range(3):
        assert stuck[t, remapped[t]].min() >= stuck[t, ~remapped[t]].max()


def test_finetune_refits_column_scales_towards_the_targets():
    linear = _linear()
    # zero-mean, unit-power inputs: the expected squared error of column j is |c_j ŵ_j − w_j|², which the
    # least-squares factor minimises (c_j = 1 is the unrepaired chip)
    x = torch.randn(4000, 40, generator=torch.Generator().manual_seed(2))
    reference = linear(x).detach()
    errors = {}
    for repair in (None, "finetune"):
        model, layer = _layer(Crossbar(device="ideal", stuck_on_rate=0.05, stuck_off_rate=0.02,
                                       repair=repair), linear)
        errors[repair] = ((model(x) - reference) ** 2).mean(0)
    assert bool((errors["finetune"] <= errors[None] * 1.05).all())
    assert errors["finetune"].sum() < errors[None].sum()
    g_plus, g_minus = layer.cells.read_expected(0.0)
    held = (g_plus - g_minus)[0, 0].double()
    target = (layer.mapped.g_plus - layer.mapped.g_minus)[0].double()
    expected = (held * target).sum(1) / (held * held).sum(1)
    assert torch.allclose(layer.cells.column_factors()[0, 0].double(), expected, rtol=1e-5)
    # on fault-free ideal devices the fit is the identity
    model, layer = _layer(Crossbar(device="ideal", repair="finetune"), linear)
    assert torch.allclose(layer.cells.column_factors(), torch.ones(1, 1, 12), atol=1e-5)


def test_spare_columns_are_priced_and_in_the_floorplan():
    linear = _linear()
    x = torch.rand(2, 40, generator=torch.Generator().manual_seed(3))
    cards = CircuitCards.load()
    results = {}
    for repair in (None, "spare-columns=4"):
        spec = REGISTRATION.complete(Crossbar(device="rram-wan2022-faulty", dac_bits=8, adc_bits=8,
                                              array=(40, 12), repair=repair))
        model = neuroemu.map(nn.Sequential(linear), spec)
        REGISTRATION.calibrate(model, x)
        ledger = Ledger()
        with torch.inference_mode(), recording(model, ledger):
            model(x)
        context = PriceContext(ledger=ledger, inferences=2, cards=cards)
        report = price(ledger, standard_book(cards, extra=REGISTRATION.price_rules(context)), images=2)
        plan = REGISTRATION.floorplan(spec, model, context)
        results[repair] = (ledger, report, plan)
    (plain, plain_report, plain_plan), (spare, spare_report, spare_plan) = results.values()
    assert spare.count("adc_conversion") == plain.count("adc_conversion") * 16 // 12
    assert spare.count("cell_read") == plain.count("cell_read") + 2 * (2 * 4 * 40)
    assert not spare_report.unpriced
    breakdown = spare_report.breakdown_per_inference_j()
    plain_breakdown = plain_report.breakdown_per_inference_j()
    assert breakdown["adc"] > plain_breakdown["adc"]
    assert breakdown["cell_read"] > plain_breakdown["cell_read"]
    assert spare_plan.layers[0]["spare_columns"] == 4
    assert spare_plan.layers[0]["sample_holds"] == plain_plan.layers[0]["sample_holds"] + 4
    assert spare_plan.area_m2 > plain_plan.area_m2  # a full array: the spares add columns
    # spares that fit in an array's unused columns add no converter area
    wide = REGISTRATION.complete(Crossbar(device="rram-wan2022-faulty", array=(40, 64), adc_bits=8,
                                          repair="spare-columns=4"))
    model = neuroemu.map(nn.Sequential(linear), wide)
    REGISTRATION.calibrate(model, x)
    ledger = Ledger()
    with torch.inference_mode(), recording(model, ledger):
        model(x)
    plan = REGISTRATION.floorplan(wide, model, PriceContext(ledger=ledger, inferences=2, cards=cards))
    assert plan.layers[0]["sample_holds"] == 64


@pytest.mark.parametrize("text", ["", "spare-columns=0", "spare-columns=x", "spares=3", "finetune,finetune"])
def test_bad_repair_is_rejected(text):
    with pytest.raises(ValueError, match="repair"):
        parse_repair(text)
    with pytest.raises(SpecError, match="repair"):
        Crossbar(repair=text)


def test_parse_repair():
    assert parse_repair("spare-columns=8,finetune") == RepairPlan(spares=8, finetune=True)
    assert parse_repair("finetune") == RepairPlan(finetune=True)


def test_finetune_restores_pairs_beside_stuck_on_cells():
    linear = _linear()
    _, layer = _layer(Crossbar(device="ideal", trials=2, stuck_on_rate=0.1, repair="finetune"), linear)
    plus, minus = layer.cells.stuck
    g_plus, g_minus = layer.cells.read_expected(0.0)
    held = g_plus - g_minus
    target = (layer.mapped.g_plus - layer.mapped.g_minus).float().expand_as(held)
    fixable = ((plus == 1) & (minus == 0) & (target >= 0)) | ((minus == 1) & (plus == 0) & (target <= 0))
    assert int(fixable.sum()) > 20
    assert torch.allclose(held[fixable], target[fixable], atol=1e-9)
    both = (plus == 1) & (minus == 1)
    assert torch.allclose(held[both], torch.zeros_like(held[both]))
