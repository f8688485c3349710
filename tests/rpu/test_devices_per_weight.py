"""Several devices per weight (the variability reduction of Gokmen et al. 2017): the weight is the mean of
its devices, the device-to-device spread of a weight's drift shrinks by sqrt(N) (closed form), the ledger
counts every device's coincidence, the state round-trips, and ``rpu-train --devices-per-weight``."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.cli import main
from neuroemu.devices.updates import PulsedUpdateModel
from neuroemu.ledger import Ledger
from neuroemu.rpu.lenet import RpuLeNet5
from neuroemu.rpu.network import RpuMlp, record_tile_events
from neuroemu.rpu.tile import AnalogTile, TileConfig

CARD = load_card("rpu-gokmen2016")
EXACT = TileConfig(read_noise=0.0, out_bound=None, update_management=False)


def _tile(n: int, card=CARD, rows: int = 6, cols: int = 5, seed: int = 0) -> AnalogTile:
    gen = torch.Generator().manual_seed(seed)
    init = torch.rand(rows + 1, cols, generator=gen) * 0.4 - 0.2
    config = dataclasses.replace(EXACT, devices_per_weight=n)
    return AnalogTile(rows, cols, PulsedUpdateModel(card), config, gen, init=init)


@pytest.mark.parametrize("soft_bounds", [False, True])
def test_the_weight_is_the_mean_of_its_devices_through_both_updates(soft_bounds):
    tile = _tile(4, dataclasses.replace(CARD, soft_bounds=soft_bounds))
    assert tile.replicas is not None and tile.replicas.shape == (4, 7, 5)
    torch.testing.assert_close(tile.w, tile.replicas.mean(0))
    rng = np.random.default_rng(1)
    for _ in range(50):
        x = rng.random(7, dtype=np.float32)
        d = rng.random(5, dtype=np.float32) - 0.5
        tile.update(x, d, rng.random((10, 7), dtype=np.float32), rng.random((10, 5), dtype=np.float32))
    gen = torch.Generator().manual_seed(2)
    tile.update_positions(torch.rand(9, 7, generator=gen), torch.rand(9, 5, generator=gen) - 0.5,
                          torch.rand(9, 10, 7, generator=gen), torch.rand(9, 10, 5, generator=gen))
    torch.testing.assert_close(tile.w, tile.replicas.mean(0))
    # the replicas moved apart (own c2c noise and steps), and every one stays inside its own bounds
    assert float((tile.replicas - tile.replicas[0]).abs().max()) > 0
    assert bool((tile.replicas >= tile.dev.lo).all()) and bool((tile.replicas <= tile.dev.hi).all())


def test_one_device_per_weight_keeps_no_replicas():
    assert _tile(1).replicas is None
    with pytest.raises(ValueError, match="devices_per_weight"):
        TileConfig(devices_per_weight=0)


@pytest.mark.parametrize("n", [1, 9])
def test_the_d2d_spread_of_a_weight_s_drift_shrinks_by_sqrt_n(n):
    """Every device sees K up and K down coincidences (pulses of probability 1, the sign of δ alternating
    over positions); a device of asymmetry a then drifts by 2·K·Δw_min·a, and the mean of N devices with
    a ~ N(0, σ) has standard deviation 2·K·Δw_min·σ/sqrt(N)."""
    sigma = 0.02
    card = dataclasses.replace(CARD, dw_min_dtod=0.0, dw_min_std=0.0, w_bound_dtod=0.0, up_down_dtod=sigma)
    rows, cols, positions, bl = 40, 50, 8, 10
    tile = _tile(n, card, rows, cols)
    tile.w.zero_()
    if tile.replicas is not None:
        tile.replicas.zero_()
    x = torch.full((positions, rows + 1), 0.5)
    d = torch.full((positions, cols), 0.5) * torch.tensor([1.0, -1.0]).repeat(positions // 2).unsqueeze(1)
    zeros = torch.zeros
    n_up, n_down = tile.update_positions(x, d, zeros(positions, bl, rows + 1), zeros(positions, bl, cols))
    k = positions // 2 * bl
    assert bool((n_up == k).all()) and bool((n_down == k).all())
    expected = 2 * k * card.dw_min * sigma / math.sqrt(n)
    weights = tile.w.numel()
    # sample std of `weights` normal draws: relative standard error 1/sqrt(2·(weights - 1))
    tolerance = 5 / math.sqrt(2 * (weights - 1))
    assert float(tile.w.std()) == pytest.approx(expected, rel=tolerance)


def test_the_ledger_counts_every_device_s_coincidences():
    one, four = _tile(1, seed=3), _tile(4, seed=3)
    gen = torch.Generator().manual_seed(5)
    x, d = torch.rand(9, 7, generator=gen), torch.rand(9, 5, generator=gen) - 0.5
    ux, ud = torch.rand(9, 10, 7, generator=gen), torch.rand(9, 10, 5, generator=gen)
    for tile in (one, four):  # the same pulses: the same coincidences per weight
        tile.update_positions(x, d, ux, ud)
    counts = {}
    for tile in (one, four):
        ledger = Ledger()
        record_tile_events(ledger, "conv1", tile)
        counts[tile.config.devices_per_weight] = {
            e.attrs["polarity"]: (e.count, e.attrs.get("devices_per_weight"))
            for e in ledger.entries() if e.event == "rpu_coincidence"}
    assert counts[1]["up"][0] > 0
    for polarity in ("up", "down"):
        assert counts[4][polarity] == (4 * counts[1][polarity][0], 4)
        assert counts[1][polarity][1] is None


def test_a_network_with_several_devices_per_weight_continues_bit_for_bit_from_its_state():
    gen = torch.Generator().manual_seed(9)
    images, labels = torch.rand(100, 12, generator=gen), torch.randint(0, 3, (100,), generator=gen)

    def build() -> RpuMlp:
        return RpuMlp(PulsedUpdateModel(CARD), TileConfig(), seed=4, sizes=(12, 8, 3),
                      devices_per_weight=[3, 1])

    first = build()
    first.train_epoch(images, labels)
    second = build()
    second.load_state(first.state())
    for net in (first, second):
        net.train_epoch(images, labels)
    for a, b in zip(first.tiles, second.tiles, strict=True):
        assert torch.equal(a.w, b.w)
    assert torch.equal(first.tiles[0].replicas, second.tiles[0].replicas)
    with pytest.raises(ValueError, match="devices per weight"):
        RpuMlp(PulsedUpdateModel(CARD), TileConfig(), seed=4, sizes=(12, 8, 3)).load_state(first.state())


def test_networks_refuse_what_is_not_modelled():
    with pytest.raises(ValueError, match="one count per layer"):
        RpuLeNet5(PulsedUpdateModel(CARD), TileConfig(), seed=0, devices_per_weight=[2, 2])
    with pytest.raises(ValueError, match="tiki-taka"):
        RpuMlp(PulsedUpdateModel(CARD), TileConfig(), seed=0, sizes=(4, 3), optimizer="tiki-taka",
               devices_per_weight=[2])


SMALL = ["rpu-train", "--network", "lenet5", "--epochs", "1", "--train-limit", "6", "--test-limit", "20",
         "--no-fp", "--json"]


def test_rpu_train_devices_per_weight_per_layer(capsys):
    assert main([*SMALL, "--devices-per-weight", "conv1=5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["devices_per_weight"] == {"conv1": 5, "conv2": 1, "fc1": 1, "fc2": 1, "fc3": 1}
    reads = [e for e in out["ledger"] if e["event"] == "rpu_forward_read"]
    assert {e["layer"]: e["attrs"].get("devices_per_weight") for e in reads} == \
        {"conv1": 5, "conv2": None, "fc1": None, "fc2": None, "fc3": None}


@pytest.mark.parametrize("argv, fragment", [
    (["--devices-per-weight", "conv9=2"], "'conv9' is not a layer"),
    (["--devices-per-weight", "0"], "1..64"),
    (["--devices-per-weight", "conv1=x"], "1..64"),
    (["--devices-per-weight", "2", "--device", "rram-agsi-neurosim"], "rpu_device"),
])
def test_rpu_train_rejects_bad_devices_per_weight(argv, fragment, capsys):
    assert main([*SMALL, *argv]) == 2
    assert fragment in capsys.readouterr().err


def test_rpu_train_devices_per_weight_needs_sgd(capsys):
    argv = ["rpu-train", "--epochs", "1", "--optimizer", "tiki-taka", "--devices-per-weight", "2"]
    assert main(argv) == 2
    assert "sgd" in capsys.readouterr().err


def test_update_energy_counts_every_device_and_survives_the_saved_ledger(capsys, tmp_path):
    base = ["rpu-train", "--epochs", "1", "--train-limit", "40", "--test-limit", "20", "--no-fp", "--json"]
    assert main(base) == 0
    one = json.loads(capsys.readouterr().out)
    saved = tmp_path / "ledger.json"
    assert main([*base, "--devices-per-weight", "fc1=3", "--save-ledger", str(saved)]) == 0
    three = json.loads(capsys.readouterr().out)

    def pulses_j(run: dict, layer: str) -> float:
        return sum(line["energy_j"] for line in run["energy"]["lines"]
                   if line["event"] == "rpu_coincidence" and line["layer"] == layer)

    # fc1's devices are drawn otherwise, so its coincidences differ; per coincidence the energy is 3-fold
    coincidences = {run_name: sum(e["count"] for e in run["ledger"]
                                  if e["event"] == "rpu_coincidence" and e["layer"] == "fc1")
                    for run_name, run in (("one", one), ("three", three))}
    energy = CARD.pulse_energy
    assert pulses_j(one, "fc1") == pytest.approx(coincidences["one"] * energy)
    assert pulses_j(three, "fc1") == pytest.approx(coincidences["three"] * energy)
    assert coincidences["three"] % 3 == 0
    assert main(["energy", "--from-ledger", str(saved), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["energy_j"] == three["energy"]["energy_j"]
    assert got["options"]["devices_per_weight"] == [3, 1, 1]
