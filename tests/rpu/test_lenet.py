"""LeNet-5 on RPU tiles (Gokmen et al. 2017): convolution tiles against torch's convolution, the per-position
up/down coincidence counts, the expected conv update, the models' (n_up, n_down) updates, the float loop
against autograd, seeded reproducibility and ``rpu-train --network lenet5``."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F

from neuroemu.cards import load_card
from neuroemu.cli import main
from neuroemu.devices.training import update_model
from neuroemu.devices.updates import NormalStream, PulsedUpdateModel
from neuroemu.nets.lenet import LeNet5
from neuroemu.rpu.lenet import FloatLeNet5, RpuLeNet5, lenet5_layers
from neuroemu.rpu.pulses import polarity_coincidences
from neuroemu.rpu.tile import AnalogTile, TileConfig

CARD = load_card("rpu-gokmen2016")
IDEAL = dataclasses.replace(CARD, dw_min_dtod=0.0, dw_min_std=0.0, up_down_dtod=0.0, w_bound_dtod=0.0)
EXACT = TileConfig(read_noise=0.0, out_bound=None)


def _conv_tile(gen: torch.Generator, c_in: int = 2, k: int = 3, c_out: int = 4,
               config: TileConfig = EXACT) -> AnalogTile:
    init = torch.rand(c_in * k * k + 1, c_out, generator=gen) * 0.4 - 0.2
    return AnalogTile(c_in * k * k, c_out, PulsedUpdateModel(IDEAL), config, gen, init=init)


def _unrolled(img: torch.Tensor, k: int, padding: int) -> torch.Tensor:
    cols = F.unfold(img.unsqueeze(0), k, padding=padding)[0].t()
    return torch.cat([cols, torch.ones(len(cols), 1)], dim=1)


def _as_conv(w: torch.Tensor, c_in: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    return w[:-1].t().reshape(-1, c_in, k, k), w[-1]


@pytest.mark.parametrize("manage", [True, False])
def test_conv_tile_forward_with_ideal_periphery_is_conv2d(manage):
    gen = torch.Generator().manual_seed(0)
    config = dataclasses.replace(EXACT, noise_management=manage)
    tile = _conv_tile(gen, config=config)
    img = torch.rand(2, 6, 6, generator=gen) * 2 - 1
    x = _unrolled(img, 3, 1)  # 36 positions
    got = tile.forward(x, torch.zeros(36, 4)).t().reshape(4, 6, 6)
    weight, bias = _as_conv(tile.w, 2, 3)
    assert torch.allclose(got, F.conv2d(img.unsqueeze(0), weight, bias, padding=1)[0], atol=1e-6)


def test_conv_tile_backward_then_fold_is_the_input_gradient():
    gen = torch.Generator().manual_seed(1)
    tile = _conv_tile(gen)
    img = (torch.rand(1, 2, 6, 6, generator=gen) * 2 - 1).requires_grad_()
    weight, bias = _as_conv(tile.w, 2, 3)
    out = F.conv2d(img, weight, bias, padding=1)
    delta = torch.rand(out.shape, generator=gen) * 0.2 - 0.1
    (grad,) = torch.autograd.grad(out, img, delta)
    per_position = delta[0].reshape(4, 36).t()  # (positions, c_out)
    read = tile.backward(per_position, torch.zeros(36, 19))[:, :-1]
    folded = F.fold(read.t().unsqueeze(0), (6, 6), 3, padding=1)
    assert torch.allclose(folded, grad, atol=1e-6)
    assert torch.allclose(folded, F.conv_transpose2d(delta, weight, padding=1), atol=1e-6)


def test_polarity_coincidences_equal_a_loop_over_slots():
    gen = torch.Generator().manual_seed(2)
    px = torch.randint(-1, 2, (40, 5), generator=gen).float()
    pd = torch.randint(-1, 2, (40, 3), generator=gen).float()
    same, opposite = polarity_coincidences(px, pd)
    b_same, b_opp = torch.zeros(5, 3), torch.zeros(5, 3)
    for t in range(40):
        for i in range(5):
            for j in range(3):
                product = px[t, i] * pd[t, j]
                b_same[i, j] += product > 0
                b_opp[i, j] += product < 0
    assert torch.equal(same, b_same) and torch.equal(opposite, b_opp)
    assert same.sum() > 0 and opposite.sum() > 0


@pytest.mark.parametrize("manage", [True, False])
def test_up_down_counts_of_a_conv_update_equal_a_brute_force_loop(manage):
    gen = torch.Generator().manual_seed(3)
    config = TileConfig(lr=0.5, bl=7, update_management=manage)
    tile = _conv_tile(gen, c_in=1, k=2, c_out=3, config=config)
    positions, rows, cols, bl = 6, 5, 3, 7
    x = torch.rand(positions, rows, generator=gen) * 2 - 1
    x[:, -1] = 1.0
    d = torch.rand(positions, cols, generator=gen) * 0.6 - 0.3
    d[2] = 0.0  # a position without error sends no column pulse
    ux, ud = torch.rand(positions, bl, rows, generator=gen), torch.rand(positions, bl, cols, generator=gen)
    w0 = tile.w.clone()
    n_up, n_down = tile.update_positions(x, d, ux, ud)
    c = tile.c
    b_up, b_down = torch.zeros(rows, cols), torch.zeros(rows, cols)
    for p in range(positions):
        cx = cd = c
        mx, md = float(x[p].abs().max()), float(d[p].abs().max())
        if manage and mx > 0 and md > 0:
            cx, cd = c * (md / mx) ** 0.5, c * (mx / md) ** 0.5
        for t in range(bl):
            for i in range(rows):
                for j in range(cols):
                    if ux[p, t, i] < cx * abs(float(x[p, i])) and ud[p, t, j] < cd * abs(float(d[p, j])):
                        if float(x[p, i]) * float(d[p, j]) > 0:
                            b_down[i, j] += 1  # W − η·x·δᵀ: x·δ > 0 steps down
                        else:
                            b_up[i, j] += 1
    assert torch.equal(n_up, b_up) and torch.equal(n_down, b_down)
    assert b_up.sum() > 0 and b_down.sum() > 0
    counts = tile.counts()
    assert counts["up"] == int(b_up.sum()) and counts["down"] == int(b_down.sum())
    # constant steps, no noise: exactly n_up·Δw_up − n_down·Δw_down (Δw_up = Δw_down = Δw_min here)
    assert torch.allclose(tile.w, w0 + (b_up - b_down) * IDEAL.dw_min, atol=1e-7)


def test_expected_conv_update_is_lr_times_the_sum_over_positions():
    """Mean of many pulsed conv updates from W = 0 equals −η·Σ_p x_p·δ_pᵀ within 5 σ of the count noise."""
    gen = torch.Generator().manual_seed(4)
    config = TileConfig(lr=0.01, bl=10)
    tile = _conv_tile(gen, c_in=1, k=2, c_out=3, config=config)
    positions, rows, cols = 4, 5, 3
    x = torch.rand(positions, rows, generator=gen) * 2 - 1
    x[:, -1] = 1.0
    d = torch.rand(positions, cols, generator=gen) - 0.5
    trials = 1000
    total = torch.zeros(rows, cols)
    for _ in range(trials):
        tile.w.zero_()
        tile.update_positions(x, d, torch.rand(positions, 10, rows, generator=gen),
                              torch.rand(positions, 10, cols, generator=gen))
        total += tile.w
    expected = -0.01 * x.t() @ d
    mx, md = x.abs().amax(1, keepdim=True), d.abs().amax(1, keepdim=True)
    ratio = (md / mx).sqrt()  # update management per position (pulse constant C = 1 here)
    q = ((x.abs() * ratio).clamp(max=1).unsqueeze(2) * (d.abs() / ratio).clamp(max=1).unsqueeze(1))
    variance = (10 * q * (1 - q)).sum(0)  # coincidences of one device summed over its positions
    sigma = 0.001 * (variance / trials).sqrt()
    assert torch.all(((total / trials) - expected).abs() <= 5 * sigma + 1e-7)


@pytest.mark.parametrize("name", ["rpu-gokmen2016", "pcm-pair-nandakumar2020", "rram-agsi-neurosim"])
def test_apply_counts_in_one_direction_equals_the_signed_update(name):
    card = load_card(name)
    if name == "rpu-gokmen2016":
        card = dataclasses.replace(card, dw_min_std=0.0, soft_bounds=True)
    else:
        card = dataclasses.replace(card, c2c_sigma=0.0)
    model = update_model(card)
    gen = torch.Generator().manual_seed(5)
    n = torch.randint(0, 30, (6, 4), generator=gen).float()
    w0 = torch.rand(6, 4, generator=gen) * 0.4 - 0.2
    for up, down, signed in ((n, torch.zeros_like(n), n), (torch.zeros_like(n), n, -n)):
        dev_a, dev_b = (model.sample((6, 4), torch.Generator().manual_seed(11)) for _ in range(2))
        wa, wb = w0.clone(), w0.clone()
        model.program(wa, dev_a)
        model.program(wb, dev_b)
        model.apply(wa, signed, dev_a, NormalStream(gen))
        model.apply_counts(wb, up, down, dev_b, NormalStream(gen))
        assert torch.allclose(wa, wb, atol=1e-6)
        assert not torch.equal(wb, w0)


def test_pcm_pair_counts_pulse_both_cells():
    model = update_model(dataclasses.replace(load_card("pcm-pair-nandakumar2020"), c2c_sigma=0.0))
    gen = torch.Generator().manual_seed(6)
    dev = model.sample((1, 2), gen)
    w = torch.zeros(1, 2)
    model.apply_counts(w, torch.tensor([[3.0, 0.0]]), torch.tensor([[3.0, 2.0]]), dev, NormalStream(gen))
    assert float(dev.plus[0, 0]) == float(dev.minus[0, 0]) > 0  # the same three SET pulses on each cell
    assert float(w[0, 0]) == 0.0 and float(w[0, 1]) < 0


def _to_module(weights: list[torch.Tensor]) -> LeNet5:
    net = LeNet5(activation="tanh", pooling="max")
    layers, _ = lenet5_layers()
    with torch.no_grad():
        for layer, w in zip(layers, weights, strict=True):
            module = getattr(net, layer.name)
            module.weight.copy_(w[:-1].t().reshape(module.weight.shape))
            module.bias.copy_(w[-1])
    return net


def _images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def test_float_lenet_step_equals_autograd_sgd_on_the_project_lenet5():
    images, labels = _images(2, 7)
    fp = FloatLeNet5(seed=3, lr=0.05)
    net = _to_module(fp.weights())
    assert torch.allclose(net(images), torch.stack([fp._forward(images[i:i + 1], lambda *a: None)[0][0]
                                                    for i in range(2)]), atol=1e-5)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for i in range(2):  # batch 1
        opt.zero_grad()
        F.cross_entropy(net(images[i:i + 1]), labels[i:i + 1]).backward()
        opt.step()
    fp.train_epoch(images, labels)
    after = _to_module(fp.weights())
    for a, b in zip(after.parameters(), net.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_rpu_lenet_with_ideal_reads_computes_the_float_forward():
    images, _ = _images(3, 8)
    rpu = RpuLeNet5(PulsedUpdateModel(IDEAL), EXACT, seed=2)
    fp = FloatLeNet5(seed=2)
    assert all(torch.equal(a, b) for a, b in zip(rpu.weights(), fp.weights(), strict=True))
    logits, _ = rpu._forward(images, lambda i, shape: torch.zeros(shape))
    assert torch.allclose(logits, _to_module(fp.weights())(images), atol=1e-5)


def _weights_after(threads: int, card=CARD) -> list[torch.Tensor]:
    torch.set_num_threads(threads)
    try:
        images, labels = _images(4, 9)
        net = RpuLeNet5(update_model(card), TileConfig(), seed=4)
        net.train_epoch(images, labels)
        return [w.clone() for w in net.weights()]
    finally:
        torch.set_num_threads(1)


@pytest.mark.parametrize("card", [CARD, load_card("pcm-pair-nandakumar2020")], ids=lambda c: c.name)
def test_same_seed_same_lenet_weights_whatever_the_thread_count(card):
    one = _weights_after(1, card)
    assert not torch.equal(one[0], RpuLeNet5(update_model(card), TileConfig(), seed=4).weights()[0])
    assert all(torch.equal(a, b) for a, b in zip(one, _weights_after(1, card), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(one, _weights_after(2, card), strict=True))


def test_rpu_train_lenet5_json(capsys):
    argv = ["rpu-train", "--network", "lenet5", "--epochs", "1", "--train-limit", "3", "--test-limit", "20",
            "--json", "--bl", "5"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["network"] == "lenet5" and out["train_samples"] == 3 and len(out["epochs"]) == 1
    reads = {(e["event"], e["layer"]): e["count"] for e in out["ledger"] if e["event"].endswith("_read")}
    assert reads[("rpu_forward_read", "conv1")] == 3 * 28 * 28
    assert reads[("rpu_backward_read", "conv2")] == 3 * 10 * 10
    assert ("rpu_backward_read", "conv1") not in reads
    assert out["energy"]["energy_per_sample_j"] > 0
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)["epochs"][0]
    assert (again["test_error"], again["train_loss"]) == (out["epochs"][0]["test_error"],
                                                          out["epochs"][0]["train_loss"])


def test_rpu_train_rejects_bad_network_options(capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse: unknown choice
        main(["rpu-train", "--epochs", "1", "--network", "resnet"])
    assert exit_info.value.code == 2
    assert "--network: invalid choice: 'resnet' (choose from 'mlp', 'lenet5')" in capsys.readouterr().err
    assert main(["rpu-train", "--epochs", "1", "--network", "lenet5", "--optimizer", "tiki-taka"]) == 2
    err = capsys.readouterr().err
    assert "--optimizer tiki-taka is not available with --network lenet5 (sgd only)" in err
