"""The RPU tile's reads and bounds, Tiki-Taka's transfer, seeded reproducibility and the rpu-train command."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.cli import main
from neuroemu.devices.training import update_model
from neuroemu.devices.updates import PulsedUpdateModel
from neuroemu.rpu.network import RpuMlp, init_weights
from neuroemu.rpu.tiki_taka import TikiTakaTile
from neuroemu.rpu.tile import AnalogTile, TileConfig

CARD = load_card("rpu-gokmen2016")
IDEAL = dataclasses.replace(CARD, dw_min_dtod=0.0, dw_min_std=0.0, up_down_dtod=0.0, w_bound_dtod=0.0)


def test_reads_without_noise_are_exact_and_noise_is_relative_to_full_scale():
    gen = torch.Generator().manual_seed(0)
    init = torch.rand(6, 4, generator=gen) * 0.4 - 0.2
    exact = AnalogTile(5, 4, PulsedUpdateModel(CARD), TileConfig(read_noise=0.0), gen, init=init)
    x = torch.tensor([0.5, -0.25, 1.0, 0.0, 0.3, 1.0])
    assert torch.allclose(exact.forward(x, torch.zeros(4)), x @ exact.w, atol=1e-6)
    d = torch.tensor([0.01, -0.02, 0.0, 0.005])
    assert torch.allclose(exact.backward(d, torch.zeros(6)), exact.w @ d, atol=1e-8)
    noisy = AnalogTile(5, 4, PulsedUpdateModel(CARD), TileConfig(read_noise=0.06), gen, init=init)
    z = torch.randn(6, generator=gen)
    # noise management: the noise scales with max |δ| (0.02), not with the full scale 1
    got = noisy.backward(d, z)
    assert torch.allclose(got, noisy.w @ d + 0.06 * 0.02 * z, atol=1e-7)


def test_bound_management_avoids_saturation():
    gen = torch.Generator().manual_seed(1)
    init = torch.full((101, 2), 0.5)
    x = torch.ones(101)
    managed = AnalogTile(100, 2, PulsedUpdateModel(IDEAL), TileConfig(read_noise=0.0), gen, init=init)
    plain = AnalogTile(100, 2, PulsedUpdateModel(IDEAL), TileConfig(read_noise=0.0, bound_management=False),
                       gen, init=init)
    assert torch.allclose(managed.forward(x, torch.zeros(2)), torch.full((2,), 50.5))
    assert torch.equal(plain.forward(x, torch.zeros(2)), torch.full((2,), 12.0))


def test_training_updates_never_leave_the_bounds():
    gen = torch.Generator().manual_seed(2)
    tile = AnalogTile(20, 8, PulsedUpdateModel(CARD), TileConfig(lr=1.0, bl=31), gen)
    for _ in range(300):
        x = torch.rand(21, generator=gen) * 2 - 1
        d = torch.rand(8, generator=gen) * 2 - 1
        tile.update(x, d, torch.rand(31, 21, generator=gen), torch.rand(31, 8, generator=gen))
    assert bool((tile.w <= tile.dev.hi).all()) and bool((tile.w >= tile.dev.lo).all())
    assert bool((tile.w == tile.dev.hi).any())  # lr = 1 drives devices onto their bounds


def test_tiki_taka_transfer_moves_a_row_of_a_onto_c():
    gen = torch.Generator().manual_seed(3)
    config = TileConfig(read_noise=0.0)
    fast = AnalogTile(3, 5, PulsedUpdateModel(IDEAL), config, gen, init=torch.zeros(4, 5))
    slow = AnalogTile(3, 5, PulsedUpdateModel(IDEAL), config, gen, init=torch.zeros(4, 5))
    pair = TikiTakaTile(fast, slow, gamma=0.1, transfer_lr=0.02, generator=gen)
    fast.w[0] = torch.tensor([0.2, -0.1, 0.0, 0.05, 0.3])
    before_a = fast.w.clone()
    trials = 2000
    total = torch.zeros(5)
    for _ in range(trials):
        slow.w.zero_()
        pair.next_row = 0
        pair.transfer()
        total += slow.w[0]
        assert torch.equal(slow.w[1:], torch.zeros(3, 5))  # only the addressed row moves
    assert torch.equal(fast.w, before_a)  # the transfer reads A, it does not change it
    # C_0 ← C_0 + η_t·A_0 in expectation (pulse-count noise: 5 σ)
    expected = 0.02 * before_a[0]
    # per-slot coincidence probability (no pulse probability reaches 1 here)
    p = (expected.abs() / 0.001 / 10).clamp(max=1)
    sigma = 0.001 * (10 * p * (1 - p) / trials).sqrt()
    assert torch.all((total / trials - expected).abs() <= 5 * sigma + 1e-6)
    assert pair.w.shape == (4, 5)


def test_tiki_taka_reads_a_against_its_symmetry_points():
    """A relaxes to its devices' symmetry points under gradient noise; read against them it transfers
    nothing onto C, read against 0 it transfers the points themselves (0.18 at up_down 0.3)."""
    card = dataclasses.replace(IDEAL, soft_bounds=True, up_down=0.3, w_bound_dtod=0.3)
    model = PulsedUpdateModel(card)
    config = TileConfig(read_noise=0.0)
    moved = {}
    for reference in (True, False):
        gen = torch.Generator().manual_seed(11)
        fast = AnalogTile(3, 5, model, config, gen)
        slow = AnalogTile(3, 5, model, config, gen, init=torch.zeros(4, 5))
        point = model.symmetry_point(fast.dev)
        pair = TikiTakaTile(fast, slow, gamma=0.5, transfer_lr=0.05, generator=gen,
                            a_reference=point if reference else None)
        if reference:
            assert torch.equal(fast.w, point) and torch.equal(pair.w, torch.zeros(4, 5))
        # equal numbers of up and down pulses (no gradient): A walks to, and stays at, its symmetry points
        one = torch.ones(4, 5)
        for _ in range(3000):
            model.apply(fast.w, one, fast.dev, fast.normals)
            model.apply(fast.w, -one, fast.dev, fast.normals)
        x = torch.rand(4, generator=gen)
        assert torch.allclose(pair.forward(x, torch.zeros(5)), x @ pair.w, atol=1e-6)
        for _ in range(4 * 20):
            pair.transfer()
        moved[reference] = slow.w.clone()
    # read against 0, C collects ≈ 20 visits × 0.05 × 0.18 = 0.18 per device; against w* only the half-step
    # oscillation of A about w* (< 1e-3) is left, far below one pulse of C per visit
    assert float(moved[False].mean()) == pytest.approx(20 * 0.05 * 0.18, rel=0.25)
    assert float(moved[True].abs().max()) <= 2 * 0.001


def test_tiki_taka_with_references_starts_from_the_initial_weights():
    """C is programmed to W₀ above its symmetry points and A sits on its own: the pair reads W₀ (γA = 0)."""
    card = dataclasses.replace(CARD, soft_bounds=True, up_down=0.3)
    w0 = init_weights((6, 4, 3), torch.Generator().manual_seed(2))
    net = RpuMlp(update_model(card), TileConfig(), seed=2, sizes=(6, 4, 3), optimizer="tiki-taka")
    for tile, w in zip(net.tiles, w0, strict=True):
        # W₀ + reference is clipped to the bounds where it leaves them (|W₀| up to 1/sqrt(6) here)
        fits = (w + tile.c_ref <= tile.c_tile.dev.hi) & (w + tile.c_ref >= tile.c_tile.dev.lo)
        assert float(fits.float().mean()) > 0.8
        assert torch.allclose(tile.w[fits], w[fits], atol=1e-6)
        assert float(tile.c_ref.abs().mean()) > 0.1  # the points sit near 0.18, far off 0
        x = torch.rand(w.shape[0])
        assert torch.allclose(tile.forward(x, torch.zeros(w.shape[1])), x @ tile.w, atol=1e-5)


def test_tiki_taka_fast_lr_scales_the_gradient_pulses_onto_a():
    model = PulsedUpdateModel(IDEAL)
    config = TileConfig(read_noise=0.0)
    tiles = [AnalogTile(5, 4, model, config, torch.Generator().manual_seed(13)) for _ in range(2)]
    slow = AnalogTile(5, 4, model, config, torch.Generator().manual_seed(14))
    pair = TikiTakaTile(tiles[0], slow, fast_lr=0.04, transfer_every=10**6, generator=torch.Generator())
    gen = torch.Generator().manual_seed(15)
    for _ in range(20):
        x, d = torch.rand(6, generator=gen), torch.randn(4, generator=gen) * 0.3
        ux, ud = torch.rand(10, 6, generator=gen), torch.rand(10, 4, generator=gen)
        pair.update(x.clone(), d.clone(), ux, ud)
        tiles[1].update(x.clone(), d.clone(), ux, ud, lr_scale=4.0)
    assert torch.equal(tiles[0].w, tiles[1].w) and bool(tiles[0].w.abs().sum() > 0)
    with pytest.raises(ValueError, match="fast_lr"):
        TikiTakaTile(tiles[0], slow, fast_lr=0.0, generator=torch.Generator())


def test_tiki_taka_reference_needs_a_model_with_a_symmetry_point(capsys):
    with pytest.raises(ValueError, match="tt_reference"):
        RpuMlp(update_model(load_card("rram-agsi-neurosim")), TileConfig(), seed=0, sizes=(4, 3, 2),
               optimizer="tiki-taka", tt_reference=True)
    # by default the reference is used where the devices have a symmetry point, not on RRAM
    net = RpuMlp(update_model(load_card("rram-agsi-neurosim")), TileConfig(), seed=0, sizes=(4, 3, 2),
                 optimizer="tiki-taka")
    assert net.tiles[0].a_ref is None
    assert main(["rpu-train", "--device", "rram-agsi-neurosim", "--optimizer", "tiki-taka",
                 "--tt-reference", "symmetry", "--epochs", "1"]) == 2
    assert "--tt-reference" in capsys.readouterr().err


def _curve(threads: int, card=CARD) -> list[torch.Tensor]:
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(9)
        images, labels = torch.rand(70, 12, generator=gen), torch.randint(0, 3, (70,), generator=gen)
        net = RpuMlp(update_model(card), TileConfig(), seed=4, sizes=(12, 8, 3))
        net.train_epoch(images, labels)
        return [w.clone() for w in net.weights()]
    finally:
        torch.set_num_threads(1)


@pytest.mark.parametrize("card", [CARD, *map(load_card, ("pcm-pair-nandakumar2020", "rram-agsi-neurosim"))],
                         ids=lambda c: c.name)
def test_same_seed_same_weights_whatever_the_thread_count(card):
    one = _curve(1, card)
    assert all(torch.equal(a, b) for a, b in zip(one, _curve(1, card), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(one, _curve(2, card), strict=True))


def test_rpu_train_json_shape(capsys):
    argv = ["rpu-train", "--epochs", "1", "--train-limit", "20", "--test-limit", "50", "--json", "--bl", "5"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("device", "network", "optimizer", "bl", "lr", "batch_size", "seed", "fp_test_error",
                "epochs", "ledger"):
        assert key in out
    assert out["bl"] == 5 and out["batch_size"] == 1 and len(out["epochs"]) == 1
    assert set(out["epochs"][0]) == {"epoch", "test_error", "train_loss", "wall_s"}
    assert out["energy"]["energy_per_sample_j"] > 0
    main(argv)
    again = json.loads(capsys.readouterr().out)
    assert again["epochs"][0]["test_error"] == out["epochs"][0]["test_error"]


@pytest.mark.parametrize("argv, fragment", [
    (["--up-down", "1.5"], "--up-down"), (["--states", "1"], "--states"),
    (["--device", "ideal"], "rpu_device"), (["--bl", "0"], "--bl")])
def test_rpu_train_rejects_bad_options(argv, fragment, capsys):
    assert main(["rpu-train", "--epochs", "1", *argv]) == 2
    assert fragment in capsys.readouterr().err


def _train_json(capsys, device: str) -> dict:
    argv = ["rpu-train", "--device", device, "--epochs", "1", "--train-limit", "30", "--test-limit", "40",
            "--no-fp", "--json"]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_rpu_train_on_a_pcm_pair_counts_refreshes_and_is_seeded(capsys):
    out = _train_json(capsys, "pcm-pair-nandakumar2020")
    assert out["device"] == "pcm-pair-nandakumar2020"
    events = {e["event"] for e in out["ledger"]}
    assert {"rpu_coincidence", "rpu_refresh", "rpu_refresh_pulse"} <= events
    refreshes = sum(e["count"] for e in out["ledger"] if e["event"] == "rpu_refresh")
    resets = sum(e["count"] for e in out["ledger"]
                 if e["event"] == "rpu_refresh_pulse" and e["attrs"]["kind"] == "reset")
    assert resets == 2 * refreshes
    assert "rpu_coincidence" in out["energy"]["unpriced"]  # the card gives no SET energy
    assert _train_json(capsys, "pcm-pair-nandakumar2020")["epochs"][0]["test_error"] == \
        out["epochs"][0]["test_error"]


def test_rpu_train_on_rram_prices_pulses_per_polarity(capsys):
    out = _train_json(capsys, "rram-agsi-neurosim")
    card = load_card("rram-agsi-neurosim")
    up = sum(e["count"] for e in out["ledger"]
             if e["event"] == "rpu_coincidence" and e["attrs"]["polarity"] == "up")
    down = sum(e["count"] for e in out["ledger"]
               if e["event"] == "rpu_coincidence" and e["attrs"]["polarity"] == "down")
    assert up > 0 and down > 0
    expected = up * card.pulse_energy_up + down * card.pulse_energy_down
    assert out["energy"]["energy_j"] == pytest.approx(expected)
    assert not any(e["event"] == "rpu_refresh" for e in out["ledger"])


def test_rpu_device_overrides_are_refused_for_other_kinds(capsys):
    assert main(["rpu-train", "--device", "rram-agsi-neurosim", "--up-down", "0.1", "--epochs", "1"]) == 2
    assert "--up-down" in capsys.readouterr().err


def test_pcm_tile_weights_stay_the_pair_difference_through_training():
    gen = torch.Generator().manual_seed(5)
    model = update_model(load_card("pcm-pair-nandakumar2020"))
    tile = AnalogTile(10, 6, model, TileConfig(lr=0.5, bl=20), gen,
                      init=torch.rand(11, 6, generator=gen) * 0.4 - 0.2)
    for _ in range(200):
        x = torch.rand(11, generator=gen) * 2 - 1
        d = torch.rand(6, generator=gen) * 2 - 1
        tile.update(x, d, torch.rand(20, 11, generator=gen), torch.rand(20, 6, generator=gen))
    assert torch.allclose(tile.w, model.weight(tile.dev), atol=1e-6)
    assert float(tile.w.abs().max()) <= 1.0
    assert tile.counts()["refreshes"] > 0
