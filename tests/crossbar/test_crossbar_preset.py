"""Presets declared beside the spec fields (aihwkit-inference) and per-tile weight scaling."""

import argparse
import copy

import pytest
import torch

import neuroemu
from neuroemu.cli import main
from neuroemu.crossbar import Crossbar, crossbar_layers, map_weights
from neuroemu.crossbar.spec import AIHWKIT_INFERENCE
from neuroemu.devices import device_model
from neuroemu.experiments.experiment import ExperimentError, parse_experiment
from neuroemu.nets import LeNet5
from neuroemu.specs import SpecError, build_spec, options
from neuroemu.usage import UsageError, add_spec_options, spec_from_args

AIHWKIT_DEFAULTS = {"dac_bits": 7, "adc_bits": 9, "adc_range": 12.0, "output_noise": 0.06,
                    "input_management": "per_vector", "bound_management": "iterative", "scaling": "tile",
                    "array": (512, 512), "dac_signed": True, "bound_halvings": 4,
                    "drift_estimate": "periphery"}


def test_the_aihwkit_preset_sets_aihwkits_defaults_each_with_its_reason():
    spec = build_spec(Crossbar, {"preset": "aihwkit-inference", "device": "pcm-joshi2020"})
    assert {k: getattr(spec, k) for k in AIHWKIT_DEFAULTS} == AIHWKIT_DEFAULTS
    declared = {o.name for o in options(Crossbar)}
    for name, (_value, why) in AIHWKIT_INFERENCE.fields.items():
        assert name in declared and len(why) > 20


def _parse(argv: list[str]) -> Crossbar:
    parser = argparse.ArgumentParser()
    add_spec_options(parser, Crossbar)
    return spec_from_args(Crossbar, parser.parse_args(argv))


def test_a_flag_given_wins_over_the_preset():
    assert _parse(["--preset", "aihwkit-inference"]).adc_bits == 9
    spec = _parse(["--preset", "aihwkit-inference", "--adc-bits", "6"])
    assert spec.adc_bits == 6 and spec.dac_bits == 7
    assert _parse([]).adc_bits == 8  # no preset: the command-line defaults


def test_an_unknown_preset_is_refused():
    with pytest.raises(SpecError, match="no preset 'aihwkit'"):
        build_spec(Crossbar, {"preset": "aihwkit"})
    parser = argparse.ArgumentParser()
    add_spec_options(parser, Crossbar)
    with pytest.raises(SystemExit):
        parser.parse_args(["--preset", "nope"])
    with pytest.raises(UsageError, match="output_noise"):
        spec_from_args(Crossbar, parser.parse_args(["--preset", "aihwkit-inference", "--output-noise", "-1"]))


def test_experiment_files_take_a_preset():
    experiment = parse_experiment({"model": "lenet5-mnist", "limit": 8, "substrate": [
        {"name": "crossbar", "preset": "aihwkit-inference", "device": "pcm-joshi2020", "adc_bits": 8}]})
    (point,) = experiment.points
    assert point.config["spec"]["output_noise"] == 0.06 and point.config["spec"]["adc_bits"] == 8
    with pytest.raises(ExperimentError, match="no preset"):
        parse_experiment({"model": "lenet5-mnist", "substrate": [{"name": "crossbar", "preset": "x"}]})


def test_per_tile_scaling_gives_each_array_its_own_scale():
    torch.manual_seed(2)
    w = torch.randn(10, 100)
    w[:, 64:] *= 0.1  # the second row tile holds small weights
    device = device_model("ideal")
    mapped = map_weights(w, device, scaling="tile", array=(64, 8))
    g_range = device.g_max - device.g_min
    assert mapped.w_unit.shape == (2, 10)
    blocks = [[w[c0:c0 + 8, a:a + 64].abs().max().repeat(min(8, 10 - c0)) for c0 in (0, 8)] for a in (0, 64)]
    expected = torch.stack([torch.cat(row) for row in blocks]).double() / g_range
    assert torch.allclose(mapped.w_unit, expected)
    g_diff = mapped.g_plus - mapped.g_minus
    assert float(g_diff[..., 64:].abs().max()) == pytest.approx(g_range)  # the small tile fills the range
    assert torch.allclose(mapped.effective_weight(g_diff).float(), w, atol=1e-6)


def test_per_tile_scaling_on_ideal_arrays_is_the_float_model():
    model = LeNet5().eval()
    emulated = neuroemu.map(copy.deepcopy(model), Crossbar(scaling="tile", array=(64, 32)))
    assert crossbar_layers(emulated)[2].mapped.w_unit.shape == (7, 120)
    x = torch.rand(4, 1, 28, 28)
    with torch.inference_mode():
        assert torch.allclose(emulated(x), model(x), atol=1e-5)


def test_energy_takes_the_preset_of_its_substrate_only(capsys):
    assert main(["energy", "--substrate", "stochastic", "--model", "lenet5-mnist-tanh", "--preset",
                 "aihwkit-inference"]) == 2
    assert "--preset applies to --substrate crossbar" in capsys.readouterr().err
