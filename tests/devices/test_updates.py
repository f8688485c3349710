"""Pulsed-update device models (neuroemu.devices.updates): closed forms of a single device's step."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.devices.updates import DeviceArray, NormalStream, PulsedUpdateModel

BASE = load_card("rpu-gokmen2016")


def _model(**changes):
    return PulsedUpdateModel(dataclasses.replace(BASE, **changes))


def _ideal(**changes):
    fields = dict(dw_min_dtod=0.0, dw_min_std=0.0, up_down=0.0, up_down_dtod=0.0, w_bound_dtod=0.0)
    fields.update(changes)
    return _model(**fields)


def test_card_baseline_numbers():
    assert BASE.n_states == pytest.approx(1200)
    assert BASE.pulse_energy == pytest.approx(1.0**2 * 41.7e-9 * 1e-9)


def test_constant_step_with_asymmetry_closed_form():
    model = _ideal(up_down=0.05)
    gen = torch.Generator().manual_seed(0)
    dev = model.sample((1, 3), gen)
    w = torch.zeros(1, 3)
    model.apply(w, torch.tensor([[3.0, -2.0, 0.0]]), dev, NormalStream(gen))
    assert w.tolist()[0] == pytest.approx([3 * 0.001 * 1.05, -2 * 0.001 * 0.95, 0.0])


def test_hard_bounds_never_exceeded():
    model = _model()
    gen = torch.Generator().manual_seed(1)
    dev = model.sample((20, 30), gen)
    w = torch.zeros(20, 30)
    normals = NormalStream(gen)
    for _ in range(200):
        s = torch.randint(-10, 11, (20, 30), generator=gen).float() * 10
        model.apply(w, s, dev, normals)
        assert bool((w <= dev.hi).all()) and bool((w >= dev.lo).all())
    # pushed far up, every device that can move (a d2d draw may clip its step to 0) sits at its bound
    model.apply(w, torch.full((20, 30), 1e7), dev, normals)
    moving = dev.step > 0
    assert torch.equal(w[moving], dev.hi[moving])


def test_soft_bounds_closed_form_equals_single_steps():
    model = _ideal(soft_bounds=True, up_down=0.1)
    gen = torch.Generator().manual_seed(2)
    dev = model.sample((1, 2), gen)
    w_many = torch.tensor([[0.2, 0.2]])
    model.apply(w_many, torch.tensor([[7.0, -7.0]]), dev, NormalStream(gen))
    w_one = torch.tensor([[0.2, 0.2]])
    for _ in range(7):
        model.apply(w_one, torch.tensor([[1.0, -1.0]]), dev, NormalStream(gen))
    assert torch.allclose(w_many, w_one, atol=1e-7)
    up, down = 0.001 * 1.1, 0.001 * 0.9
    w_up = 0.2
    w_dn = 0.2
    for _ in range(7):
        w_up += up * (1 - w_up / 0.6)
        w_dn -= down * (1 - w_dn / -0.6)
    assert w_many.tolist()[0] == pytest.approx([w_up, w_dn], rel=1e-5)


def test_soft_bounds_survive_devices_whose_d2d_draws_were_clipped_to_zero():
    """With 30 % d2d spreads about 1 in 2500 draws of a step or a bound is clipped to 0 (z < -1/0.3); a
    step 0 with a bound 0 made the closed form 0/0 = NaN, which then spread through the network."""
    model = _ideal(soft_bounds=True)
    step = 0.001
    # columns: step 0 and lower bound -0.0 (the NaN case); step 0 only; upper bound 0; a normal device
    mid = torch.tensor([[0.0, 0.0, step, step]])
    lo = torch.tensor([[-0.0, -0.6, -0.6, -0.6]])
    hi = torch.tensor([[0.48, 0.6, 0.0, 0.6]])
    dev = DeviceArray(torch.stack([mid, torch.zeros_like(mid), lo, hi, mid], dim=-1))
    gen = torch.Generator().manual_seed(6)
    for n in (1.0, -1.0, 5.0, -5.0):
        w = torch.tensor([[0.0, 0.1, 0.0, 0.1]])
        model.apply(w, torch.full((1, 4), n), dev, NormalStream(gen), against=True)
        assert bool(w.isfinite().all()), (n, w)
        # a device whose step was clipped to 0 does not move
        assert w[0, :2].tolist() == pytest.approx([0.0, 0.1])
        rate = (1 - step / 0.6) ** abs(n)
        # against=True: n > 0 coincidences step down; the device with hi = 0 is pinned at 0 going up
        expected_up, expected_dn = (0.0, 0.6 - 0.5 * rate), (-0.6 + 0.6 * rate, -0.6 + 0.7 * rate)
        assert w[0, 2:].tolist() == pytest.approx(expected_dn if n > 0 else expected_up, abs=1e-7)
        # the same steps as separate up / down counts (the convolution tiles' path)
        w = torch.tensor([[0.0, 0.1, 0.0, 0.1]])
        steps = torch.full((1, 4), abs(n))
        up, down = (torch.zeros_like(steps), steps) if n > 0 else (steps, torch.zeros_like(steps))
        model.apply_counts(w, up, down, dev, NormalStream(gen))
        assert bool(w.isfinite().all()), (n, w)
        assert w[0, 2:].tolist() == pytest.approx(expected_dn if n > 0 else expected_up, abs=1e-7)


def test_soft_bounds_symmetry_point_is_where_alternating_pulses_settle():
    # asymmetric steps (up 1.3, down 0.7 Δw_min) and 30 % spread bounds: w* = 0.6·0.6/2 = 0.18 at nominal
    model = _model(soft_bounds=True, up_down=0.3, dw_min_std=0.0, dw_min_dtod=0.0)
    gen = torch.Generator().manual_seed(7)
    dev = model.sample((1, 64), gen)
    point = model.symmetry_point(dev)
    w = torch.zeros(1, 64)
    normals = NormalStream(gen)
    one = torch.ones(1, 64)
    for _ in range(6000):  # each up/down pair pulls w towards w* by a factor ≈ 1 − 2/600 or closer to 1
        model.apply(w, one, dev, normals)
        after_up = w.clone()
        model.apply(w, -one, dev, normals)
    # w cycles w_a → w_a + J → w_a with equal up and down jumps J; both step laws are linear in w, so the
    # point where they are equal is w* = w_a + J·r_down/(r_up + r_down), r = Δw_0/|bound| (exact)
    r_up = (dev.mid + dev.half) / dev.hi
    r_down = (dev.mid - dev.half) / -dev.lo
    settled = w + (after_up - w) * r_down / (r_up + r_down)
    # float32 rounding (≈ 6e-8·|bound| per step) biases the fixed point by ≈ 6e-8·0.9/1.7e-3 ≈ 3e-5
    assert torch.allclose(settled, point, atol=1e-4)
    assert float((after_up - w).min()) > 0  # it does cycle
    nominal = model.symmetry_point(_ideal(soft_bounds=True, up_down=0.3).sample((1, 1), gen))
    assert float(nominal) == pytest.approx(0.6 * 0.6 / 2, rel=1e-5)
    assert float(point.std()) > 0.01  # each device has its own (the bounds and steps spread)


def test_hard_bounds_have_no_inner_symmetry_point():
    model = _model(up_down=0.3)
    dev = model.sample((3, 4), torch.Generator().manual_seed(8))
    assert torch.equal(model.symmetry_point(dev), torch.zeros(3, 4))


def test_cycle_to_cycle_noise_has_sqrt_n_spread():
    model = _ideal(dw_min_std=0.3)
    gen = torch.Generator().manual_seed(3)
    n_dev, n = 40000, 4
    dev = model.sample((1, n_dev), gen)
    w = torch.zeros(1, n_dev)
    model.apply(w, torch.full((1, n_dev), float(n)), dev, NormalStream(gen))
    expected_std = 0.3 * 0.001 * n**0.5
    std = float(w.std())
    # the sample std of N normals has relative σ ≈ 1/sqrt(2N) = 0.35 %; allow 5σ
    assert std == pytest.approx(expected_std, rel=5 / (2 * n_dev) ** 0.5)
    assert float(w.mean()) == pytest.approx(n * 0.001, abs=5 * expected_std / n_dev**0.5)


def test_device_to_device_spreads():
    model = _model(up_down_dtod=0.0)
    dev = model.sample((200, 200), torch.Generator().manual_seed(4))
    n = 40000
    assert float(dev.step.std() / dev.step.mean()) == pytest.approx(0.3, rel=0.03)
    assert float(dev.hi.std()) == pytest.approx(0.3 * 0.6, rel=0.03)
    assert float(dev.lo.mean()) == pytest.approx(-0.6, abs=5 * 0.18 / n**0.5)
    assert torch.equal(dev.half, torch.zeros_like(dev.half))


def test_normal_stream_does_not_depend_on_split():
    a = NormalStream(torch.Generator().manual_seed(5), block=7)
    b = NormalStream(torch.Generator().manual_seed(5), block=7)
    first = torch.cat([a.take((3,)), a.take((10,)), a.take((2,))])
    second = b.take((15,))
    assert torch.equal(first, second)


def test_wrong_card_kind_is_refused():
    with pytest.raises(TypeError, match="rpu_device"):
        PulsedUpdateModel(load_card("ideal"))
