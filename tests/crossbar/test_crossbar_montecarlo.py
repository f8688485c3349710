"""Monte Carlo: reproducibility (batch size, number of trials), drift compensation, the mc command."""

import json

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cli import main
from neuroemu.crossbar import Crossbar, calibrate, set_time
from neuroemu.crossbar.layers import CrossbarLayer
from neuroemu.crossbar.tiling import TiledMvm
from neuroemu.experiments.point import correct_per_chip
from neuroemu.ledger import Ledger
from neuroemu.nets import summarize
from neuroemu.specs import parse_duration


@pytest.fixture(scope="module")
def lenet_pcm(data_root):
    from neuroemu.data import load_tensors
    from neuroemu.nets import load_checkpoint

    images, labels = load_tensors("mnist", "test", limit=60)
    model = load_checkpoint("lenet5-mnist").build()
    return model, images, labels


def _run(model, images, labels, trials, batch_size, t=86400.0):
    emulated = neuroemu.map(model, Crossbar(device="pcm-joshi2020", array=(128, 128), dac_bits=8, adc_bits=8,
                                            trials=trials, seed=5))
    calibrate(emulated, images[:32])
    set_time(emulated, t, drift_compensation=False)
    with torch.inference_mode():
        logits = torch.cat([emulated(images[s:s + batch_size]) for s in range(0, len(images), batch_size)], 1)
    correct = correct_per_chip(emulated, images, labels, trials, Ledger(), batch_size)
    return logits, (correct.double() / len(images)).tolist()


def test_same_seed_same_output_whatever_the_batch_size_or_trial_count(lenet_pcm):
    model, images, labels = lenet_pcm
    logits_a, acc_a = _run(model, images, labels, trials=3, batch_size=60)
    logits_b, acc_b = _run(model, images, labels, trials=3, batch_size=7)
    assert acc_a == acc_b
    assert torch.equal(logits_a.argmax(-1), logits_b.argmax(-1))
    assert float((logits_a - logits_b).abs().max()) < 1e-3
    logits_c, acc_c = _run(model, images, labels, trials=2, batch_size=13)
    assert acc_c == acc_a[:2]
    assert float((logits_c - logits_a[:2]).abs().max()) < 1e-3


@pytest.mark.parametrize("extra", [{}, {"adc_noise": 0.5}, {"array": (16, 16), "dac_bits": None}])
def test_first_layer_computed_once_per_image_equals_the_grouped_convolution(lenet_pcm, monkeypatch, extra):
    """The first convolution sees the same image on every chip instance and runs as one convolution with
    every trial's kernels (its DAC codes once per image): the same logits, bit for bit, as the grouped
    convolution over the repeated batch, also with ADC noise and with several row tiles."""
    model, images, _ = lenet_pcm
    fields = {"device": "pcm-joshi2020", "array": (128, 128), "dac_bits": 8, "adc_bits": 8, "trials": 3,
              "seed": 2, "time": 3600.0, **extra}
    emulated = neuroemu.map(model, Crossbar(**fields))
    calibrate(emulated, images[:32])
    calls = []
    once_per_image = TiledMvm.uniform_partial_sums

    def counted(self, *args):
        calls.append(1)
        return once_per_image(self, *args)

    monkeypatch.setattr(TiledMvm, "uniform_partial_sums", counted)
    with torch.inference_mode():
        once = emulated(images[:20])
    assert calls, "the first convolution did not take the once-per-image path"
    monkeypatch.setattr(CrossbarLayer, "_uniform_input", lambda self, x: None)
    set_time(emulated, 3600.0)  # the same read, the ADC-noise counter back at image 0
    with torch.inference_mode():
        repeated = emulated(images[:20])
    assert torch.equal(once, repeated)


def test_drift_compensation_restores_the_mean_output_scale():
    """Per trial, the least-squares scale s of the emulated outputs against the float outputs: drift after a
    year shrinks it to about (t/t0)^-nu ~ 0.5; global drift compensation brings it back near 1. The global
    factor cannot follow each device's own nu, so the restored scale is near 1, not exactly 1."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(64, 32, bias=False)).eval()
    x = torch.rand(256, 64)
    trials = 16
    emulated = neuroemu.map(model, Crossbar(device="pcm-joshi2020", trials=trials, seed=1))
    ref = model(x).detach()

    def scales(t: float, compensation: bool) -> torch.Tensor:
        set_time(emulated, t, compensation)
        with torch.inference_mode():
            y = emulated(x)
        return (y * ref).sum((1, 2)) / (ref * ref).sum()

    fresh = scales(0.0, False)
    year = scales(3.15e7, False)
    restored = scales(3.15e7, True)
    assert abs(float(fresh.mean()) - 1) < 0.05
    assert float(year.mean()) < 0.7
    assert abs(float(restored.mean()) - 1) < 0.05
    assert abs(float(restored.mean()) - 1) < abs(float(year.mean()) - 1) / 5


def test_parse_duration_and_summary():
    assert parse_duration("1s") == 1 and parse_duration("1h") == 3600 and parse_duration("2d") == 172800
    assert parse_duration("1y") == 365.25 * 86400 and parse_duration("0") == 0
    assert parse_duration("30min") == 1800
    with pytest.raises(ValueError, match="cannot read time"):
        parse_duration("1 fortnight")
    s = summarize([0.9, 0.92, 0.94])
    assert s["mean"] == pytest.approx(0.92) and s["std"] == pytest.approx(0.02)
    assert s["ci95"][0] == pytest.approx(0.92 - 4.302653 * 0.02 / 3**0.5, rel=1e-5)


def test_mc_command_json(data_root, capsys):
    status = main(["mc", "--model", "lenet5-mnist", "--device", "pcm-joshi2020", "--trials", "2", "--time",
                   "1s,1d", "--no-drift-compensation", "--limit", "30", "--calibration-images", "16",
                   "--json"])
    assert status == 0
    record = json.loads(capsys.readouterr().out)
    assert set(record) == {"model", "device", "fp_accuracy", "n_images", "trials", "seed", "wall_s", "points"}
    assert record["model"] == "lenet5-mnist" and record["device"] == "pcm-joshi2020" and record["trials"] == 2
    assert [p["time_s"] for p in record["points"]] == [1.0, 86400.0]
    for point in record["points"]:
        assert set(point) == {"time_s", "drift_compensation", "accuracies", "mean", "std", "ci95"}
        assert point["drift_compensation"] is False and len(point["accuracies"]) == 2
        assert point["ci95"][0] <= point["mean"] <= point["ci95"][1]


def test_mc_command_table_and_usage_errors(data_root, capsys):
    assert main(["mc", "--model", "lenet5-mnist", "--device", "ideal", "--trials", "1", "--limit", "20",
                 "--calibration-images", "8"]) == 0
    assert "drift comp." in capsys.readouterr().out
    assert main(["mc", "--model", "lenet5-mnist", "--device", "no-such-card", "--limit", "5"]) == 2
    assert "pcm-joshi2020" in capsys.readouterr().err
    assert main(["mc", "--model", "no-such-model", "--device", "ideal", "--limit", "5"]) == 2
    assert main(["mc", "--model", "lenet5-mnist", "--device", "ideal", "--time", "soon"]) == 2
    assert main(["mc", "--model", "lenet5-mnist", "--device", "ideal", "--trials", "0"]) == 2
