"""The RRAM (NeuroSim nonlinear LTP/LTD) and PCM pair (SET-only with refresh) update models: closed forms of a
single device, bounds, asymmetry, refresh, c2c noise and seeded reproducibility."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.devices.nonlinear_updates import RramUpdateModel
from neuroemu.devices.pcm_pair import PcmPairModel
from neuroemu.devices.saturating import SaturatingCurve
from neuroemu.devices.training import update_model
from neuroemu.devices.updates import NormalStream, PulsedUpdateModel

RRAM = load_card("rram-agsi-neurosim")
PCM = load_card("pcm-pair-nandakumar2020")


def _neurosim_g(p: float, pulses: int, a: float) -> float:
    """NeuroSim's curve written out: ĝ(P) = (1 − exp(−P/A)) / (1 − exp(−P_max/A)), A = a·P_max."""
    big_a = a * pulses
    return (1 - math.exp(-p / big_a)) / (1 - math.exp(-pulses / big_a))


def test_card_numbers_and_derived_step():
    assert (RRAM.pulses_ltp, RRAM.pulses_ltd, RRAM.a_ltp, RRAM.a_ltd) == (97, 100, 0.499181, 0.200303)
    assert RRAM.g_max / RRAM.g_min == pytest.approx(12.5, rel=1e-4)
    assert RRAM.dw_min == pytest.approx(1 / 97 + 1 / 100)
    assert PCM.dw_min == pytest.approx(1 / 20)
    assert isinstance(update_model(RRAM), RramUpdateModel) and isinstance(update_model(PCM), PcmPairModel)
    assert isinstance(update_model(load_card("rpu-gokmen2016")), PulsedUpdateModel)
    with pytest.raises(TypeError, match="rpu_pcm_pair"):
        update_model(load_card("pcm-joshi2020"))


def test_curve_reaches_the_window_ends_and_advances_in_closed_form():
    curve = SaturatingCurve(97, 0.499181)
    assert float(curve.at(torch.tensor(97.0))) == pytest.approx(1.0, abs=1e-6)
    assert float(curve.at(torch.tensor(0.0))) == 0.0
    g0 = torch.tensor(_neurosim_g(10, 97, 0.499181))
    for n in (1, 7, 40):
        got = float(curve.advance(g0, torch.tensor(float(n))))
        assert got == pytest.approx(_neurosim_g(10 + n, 97, 0.499181), abs=1e-6)
    assert float(curve.position(g0)) == pytest.approx(10.0, abs=1e-3)


def _rram(**changes):
    return RramUpdateModel(dataclasses.replace(RRAM, **changes))


def test_rram_n_pulses_follow_neurosim_exactly_without_noise():
    model = _rram(c2c_sigma=0.0)
    dev = model.sample((1, 2), torch.Generator())
    # device 0 at LTP pulse position 20, device 1 at LTD position 30 pulses below G_max
    g_up = _neurosim_g(20, 97, RRAM.a_ltp)
    g_dn = 1 - _neurosim_g(30, 100, RRAM.a_ltd)
    w = torch.tensor([[2 * g_up - 1, 2 * g_dn - 1]])
    model.apply(w, torch.tensor([[5.0, -8.0]]), dev, NormalStream(torch.Generator()))
    expect_up = _neurosim_g(25, 97, RRAM.a_ltp)
    expect_dn = 1 - _neurosim_g(38, 100, RRAM.a_ltd)
    assert w.tolist()[0] == pytest.approx([2 * expect_up - 1, 2 * expect_dn - 1], abs=1e-5)
    # against=True: the same counts move the other way
    w2 = torch.tensor([[2 * g_up - 1, 2 * g_dn - 1]])
    model.apply(w2, torch.tensor([[-5.0, 8.0]]), dev, NormalStream(torch.Generator()), against=True)
    assert torch.allclose(w, w2)


def test_rram_asymmetry_as_stated():
    model = _rram(c2c_sigma=0.0)
    dev = model.sample((1, 1), torch.Generator())
    normals = NormalStream(torch.Generator())
    for g in (0.2, 0.5, 0.8):
        up = torch.tensor([[2 * g - 1]])
        down = up.clone()
        model.apply(up, torch.ones(1, 1), dev, normals)
        model.apply(down, -torch.ones(1, 1), dev, normals)
        step_up, step_down = (float(up) + 1) / 2 - g, g - (float(down) + 1) / 2
        b_p, b_d = 1 / -math.expm1(-1 / RRAM.a_ltp), 1 / -math.expm1(-1 / RRAM.a_ltd)
        assert step_up == pytest.approx((b_p - g) * -math.expm1(-1 / (RRAM.a_ltp * 97)), rel=1e-4)
        assert step_down == pytest.approx((b_d - 1 + g) * -math.expm1(-1 / (RRAM.a_ltd * 100)), rel=1e-4)
    # LTD (more nonlinear) steps are larger near G_max, smaller near G_min, than LTP steps: one up and one
    # down pulse do not cancel, the weight drifts towards the point where the two steps are equal
    w = torch.tensor([[0.9, -0.9]])
    for _ in range(3000):
        model.apply(w, torch.tensor([[1.0, 1.0]]), dev.take(torch.tensor([0, 0]), (1, 2)), normals)
        model.apply(w, torch.tensor([[-1.0, -1.0]]), dev.take(torch.tensor([0, 0]), (1, 2)), normals)
    assert float(w[0, 0] - w[0, 1]) < 0.05  # both ends met at the same fixed point


def test_rram_bounds_never_exceeded_and_c2c_noise_has_its_variance():
    model = _rram()
    gen = torch.Generator().manual_seed(1)
    dev = model.sample((30, 40), gen)
    normals = NormalStream(gen)
    w = torch.zeros(30, 40)
    for _ in range(100):
        model.apply(w, torch.randint(-40, 41, (30, 40), generator=gen).float(), dev, normals)
        assert float(w.abs().max()) <= RRAM.w_max
    # n pulses from ĝ = 0.5: mean from the closed form, σ = c2c·sqrt(n) (on ĝ), while far from the ends
    n, count = 4, 40000
    w = torch.zeros(1, count)
    model.apply(w, torch.full((1, count), float(n)), model.sample((1, count), gen), NormalStream(gen))
    g = (w + 1) / 2
    sigma = RRAM.c2c_sigma * n**0.5
    mean = float(SaturatingCurve(97, RRAM.a_ltp).advance(torch.tensor(0.5), torch.tensor(float(n))))
    assert float(g.mean()) == pytest.approx(mean, abs=5 * sigma / count**0.5)
    assert float(g.std()) == pytest.approx(sigma, rel=5 / (2 * count) ** 0.5)


def _pcm(**changes):
    return PcmPairModel(dataclasses.replace(PCM, **changes))


def test_pcm_set_pulses_follow_the_curve_on_the_chosen_side():
    model = _pcm(c2c_sigma=0.0, refresh_threshold=1.0)
    dev = model.sample((1, 2), torch.Generator())
    w = torch.zeros(1, 2)
    model.program(w, dev)
    model.apply(w, torch.tensor([[6.0, -3.0]]), dev, NormalStream(torch.Generator()))
    g6, g3 = _neurosim_g(6, 20, 0.5), _neurosim_g(3, 20, 0.5)
    assert dev.table[0, 0].tolist() == pytest.approx([g6, 0.0], abs=1e-6)  # G⁺ only
    assert dev.table[0, 1].tolist() == pytest.approx([0.0, g3], abs=1e-6)  # G⁻ only
    assert w.tolist()[0] == pytest.approx([g6, -g3], abs=1e-6)
    # a later decrease of device 0 pulses its G⁻ (G⁺ untouched: PCM cannot be depressed gradually)
    model.apply(w, torch.tensor([[-2.0, 0.0]]), dev, NormalStream(torch.Generator()))
    assert dev.table[0, 0].tolist() == pytest.approx([g6, _neurosim_g(2, 20, 0.5)], abs=1e-6)


def test_pcm_refresh_preserves_the_weight_within_one_step():
    model = _pcm(c2c_sigma=0.0, refresh_threshold=0.75)
    curve = model.curve
    gen = torch.Generator().manual_seed(2)
    count = 500
    dev = model.sample((1, count), gen)
    dev.table[0, :, 0] = torch.rand(count, generator=gen) * 0.7 + 0.05
    dev.table[0, :, 1] = torch.rand(count, generator=gen) * 0.7 + 0.05
    plus0, minus0 = dev.plus.clone(), dev.minus.clone()
    w = model.weight(dev)
    stats = model.apply(w, torch.full((1, count), 6.0), dev, NormalStream(gen))
    plus6 = curve.advance(plus0, torch.tensor(6.0)).clamp(max=1.0)  # G⁺ after the pulses, before refresh
    due = plus6 > 0.75
    untouched = ~due
    assert torch.allclose(dev.plus[untouched], plus6[untouched], atol=1e-6)
    assert torch.equal(dev.minus[untouched], minus0[untouched])
    assert int(stats[0]) == int(due.sum()) > 50 and int(stats[2]) == 2 * int(stats[0])
    # a refreshed pair has one side RESET and the difference on the other, within one SET step
    assert bool((torch.minimum(dev.plus, dev.minus)[due] == 0).all())
    diff = (plus6 - minus0)[due]
    kept = model.weight(dev)[due] / model.card.w_max
    pulses = curve.position(diff.abs())
    one_step = curve.step(curve.at((pulses - 1).clamp(min=0)))  # the step next to the programmed level
    assert bool(((kept - diff).abs() <= one_step + 1e-6).all())
    assert bool((torch.sign(kept) == torch.sign(diff)).all())
    assert int(stats[1]) == int(pulses.round().sum())  # the SET pulses the refreshes cost
    assert torch.allclose(w, model.weight(dev))


def test_pcm_pair_bounds_and_no_refresh_when_the_other_side_is_reset():
    model = _pcm()
    gen = torch.Generator().manual_seed(3)
    dev = model.sample((20, 30), gen)
    w = (torch.rand(20, 30, generator=gen) * 2 - 1) * 0.5
    model.program(w, dev)
    normals = NormalStream(gen)
    for _ in range(200):
        model.apply(w, torch.randint(-15, 16, (20, 30), generator=gen).float(), dev, normals)
        assert float(w.abs().max()) <= PCM.w_max
        assert bool((dev.table >= 0).all()) and bool((dev.table <= 1).all())
        assert torch.allclose(w, model.weight(dev))
    # without noise, pushed far up: G⁺ saturates at the window top, G⁻ is RESET by the refresh, w = w_max,
    # and a pair with G⁻ RESET is not refreshed again
    quiet = _pcm(c2c_sigma=0.0)
    for _ in range(3):
        stats = quiet.apply(w, torch.full((20, 30), 1e3), dev, normals)
    assert torch.equal(w, torch.full((20, 30), PCM.w_max)) and int(stats[0]) == 0


def test_pcm_c2c_noise_has_its_variance():
    model = _pcm(refresh_threshold=1.0)
    gen = torch.Generator().manual_seed(4)
    count, n = 40000, 3
    dev = model.sample((1, count), gen)
    w = torch.zeros(1, count)
    dev.table[..., 0] = 0.3  # far from both ends: no clipping
    model.apply(w, torch.full((1, count), float(n)), dev, NormalStream(gen))
    sigma = PCM.c2c_sigma * n**0.5
    mean = float(model.curve.advance(torch.tensor(0.3), torch.tensor(float(n))))
    assert float(dev.plus.mean()) == pytest.approx(mean, abs=5 * sigma / count**0.5)
    assert float(dev.plus.std()) == pytest.approx(sigma, rel=5 / (2 * count) ** 0.5)


@pytest.mark.parametrize("card", [RRAM, PCM], ids=lambda c: c.name)
def test_seeded_reproducibility(card):
    def run(seed):
        model = update_model(card)
        gen = torch.Generator().manual_seed(seed)
        dev = model.sample((8, 9), gen)
        w = torch.zeros(8, 9)
        model.program(w, dev)
        normals = NormalStream(gen)
        for _ in range(20):
            model.apply(w, torch.randint(-6, 7, (8, 9), generator=gen).float(), dev, normals)
        return w

    assert torch.equal(run(5), run(5))
    assert not torch.equal(run(5), run(6))
