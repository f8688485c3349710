"""Bit slicing through an emulated layer, and binary / multi-level devices on the crossbar."""

import dataclasses

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cards import load_card
from neuroemu.crossbar import Crossbar, calibrate


def _model() -> nn.Module:
    torch.manual_seed(4)
    return nn.Sequential(nn.Linear(20, 6)).eval()


@pytest.mark.parametrize(("cells", "bits"), [(4, 2), (8, 1), (2, 3)])
def test_ideal_slices_give_the_quantised_weight_layer(cells, bits):
    model = _model()
    x = torch.randn(16, 20)
    emulated = neuroemu.map(model, Crossbar(device="ideal", slicing=(cells, bits), array=(8, 4)))
    w = model[0].weight.detach().double()
    top = 2 ** (cells * bits) - 1
    w_max = w.abs().amax(1, keepdim=True)
    wq = (torch.round(w.abs() / w_max * top) / top * w_max * w.sign()).float()
    with torch.inference_mode():
        out = emulated(x)
    assert float((out - (x @ wq.T + model[0].bias.detach())).abs().max()) < 1e-4
    assert emulated[0].tiling.slices == cells


def test_binary_device_needs_one_bit_slices():
    with pytest.raises(ValueError, match="slicing"):
        neuroemu.map(_model(), Crossbar(device="sttram-pmtj"))
    with pytest.raises(ValueError, match="only 2 levels"):
        neuroemu.map(_model(), Crossbar(device="sttram-pmtj", slicing=(4, 2)))


def test_sttram_without_spread_reproduces_the_sliced_weights():
    card = dataclasses.replace(load_card("sttram-pmtj"), r_p_sigma=0.0, r_ap_sigma=0.0, delta_sigma=0.0,
                               i_c0_sigma=0.0)
    model = _model()
    x = torch.randn(16, 20)
    emulated = neuroemu.map(model, Crossbar(device=card, slicing=(8, 1), trials=2))
    ideal = neuroemu.map(model, Crossbar(device="ideal", slicing=(8, 1)))
    with torch.inference_mode():
        out = emulated(x)
        ref = ideal(x)
    assert out.shape == (2, 16, 6)
    assert float((out - ref).abs().max()) < 1e-3 * float(ref.abs().max())


def test_rram_levels_and_noise_on_the_crossbar():
    card = dataclasses.replace(load_card("rram-wan2022"), levels=16)
    model = _model()
    x = torch.rand(64, 20)
    emulated = neuroemu.map(model, Crossbar(device=card, dac_bits=8, adc_bits=8, trials=3))
    calibrate(emulated, x)
    with torch.inference_mode():
        out = emulated(x)
    assert out.shape == (3, 64, 6)
    ref = model(x).detach()
    err = (out - ref).pow(2).mean() / ref.pow(2).mean()
    assert 0 < float(err) < 0.5
    assert not torch.equal(out[0], out[1])  # independent chip instances


@pytest.mark.parametrize("signed", [False, True])
def test_bit_serial_input_equals_the_dac_without_adc(signed):
    model = _model()
    x = torch.randn(32, 20) if signed else torch.rand(32, 20)
    serial = neuroemu.map(model, Crossbar(device="ideal", dac_bits=6, input_mode="bit_serial", array=(8, 8)))
    parallel = neuroemu.map(model, Crossbar(device="ideal", dac_bits=6, array=(8, 8)))
    calibrate(serial, x)
    calibrate(parallel, x)
    assert serial[0].dac.signed is signed
    with torch.inference_mode():
        assert float((serial(x) - parallel(x)).abs().max()) < 1e-4


def test_bit_serial_with_adc_and_its_ledger():
    from neuroemu.cost import Ledger, recording

    model = _model()
    x = torch.rand(32, 20)
    serial = neuroemu.map(model, Crossbar(device="ideal", dac_bits=4, adc_bits=10, input_mode="bit_serial"))
    calibrate(serial, x)
    ledger = Ledger()
    with recording(serial, ledger), torch.inference_mode():
        out = serial(x)
    ref = model(x).detach()
    assert float((out - ref).pow(2).mean() / ref.pow(2).mean()) < 0.01
    assert ledger.count("adc_conversion", bits=10) == 32 * 4 * 6
    assert ledger.count("dac_conversion", bits=1) == 32 * 4 * 20
    assert ledger.count("shift_add") == 32 * 6 * 3
    with pytest.raises(ValueError, match="bit_serial"):
        Crossbar(input_mode="bit_serial")


def test_bit_serial_convolution_with_tiles_matches_the_parallel_dac():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3)).eval()
    x = torch.rand(8, 3, 7, 7)
    spec = {"device": "ideal", "dac_bits": 5, "array": (10, 3), "mapping": "reference", "trials": 2}
    serial = neuroemu.map(model, Crossbar(input_mode="bit_serial", **spec))
    parallel = neuroemu.map(model, Crossbar(**spec))
    calibrate(serial, x)
    calibrate(parallel, x)
    with torch.inference_mode():
        a, b = serial(x), parallel(x)
    assert a.shape == (2, 8, 2, 5, 5)
    assert float((a - b).abs().max()) < 1e-4
