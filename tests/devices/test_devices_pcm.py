"""PCM device model against the closed forms of Nandakumar et al. (ICECS 2019).

Every statistical check uses a fixed seed and a tolerance of K standard errors of the estimate, where the
standard error follows from the sample size (σ/√n for a mean, σ/√(2n) for a Gaussian standard deviation,
1.95/√n for the Kolmogorov–Smirnov statistic at α = 0.001). K = 5 makes a false failure ~1e-6 likely.
"""

import math

import pytest
import torch
from scipy import stats

from neuroemu.cards import load_card
from neuroemu.devices import PcmModel, device_model, rng

K = 5.0
N_TRIALS, N_DEVICES = 4, 5000
N = N_TRIALS * N_DEVICES


@pytest.fixture(scope="module")
def pcm() -> PcmModel:
    model = device_model("pcm-joshi2020")
    assert isinstance(model, PcmModel)
    return model


def test_card_holds_the_published_fits():
    c = load_card("pcm-joshi2020")
    assert c.g_max == pytest.approx(25e-6) and c.g_min == 0.0
    assert (c.prog_c0, c.prog_c1, c.prog_c2) == pytest.approx((0.26348e-6, 1.9650e-6, -1.1731e-6))
    assert (c.t0, c.read_pulse_width) == pytest.approx((20.0, 250e-9))
    assert (c.nu_mu_slope, c.nu_mu_offset, c.nu_mu_min, c.nu_mu_max) == (-0.0155, 0.0244, 0.049, 0.1)
    assert (c.nu_sigma_slope, c.nu_sigma_offset, c.nu_sigma_min, c.nu_sigma_max) == (-0.0125, -0.0059, 0.008,
                                                                                       0.045)
    assert (c.read_q_coeff, c.read_q_exponent, c.read_q_max) == (0.0088, 0.65, 0.2)


def _program(pcm: PcmModel, ghat: float, seed: int = 1):
    target = torch.full((N_DEVICES,), ghat * pcm.g_max)
    return pcm.program(target, rng.trial_generators(seed, N_TRIALS, f"test-{ghat}"))


def _sigma_prog(ghat: float) -> float:  # closed form, µS → S
    return (0.26348 + 1.9650 * ghat - 1.1731 * ghat**2) * 1e-6


@pytest.mark.parametrize("ghat", [0.1, 0.5, 1.0])
def test_programming_noise_moments(pcm, ghat):
    g = _program(pcm, ghat)["g"].double().flatten()
    sigma = _sigma_prog(ghat)
    assert abs(float(g.mean()) - ghat * pcm.g_max) < K * sigma / math.sqrt(N)
    assert abs(float(g.std()) - sigma) < K * sigma / math.sqrt(2 * N)


def _nu_moments(ghat: float) -> tuple[float, float]:
    log_g = math.log(ghat)
    mu = min(max(-0.0155 * log_g + 0.0244, 0.049), 0.1)
    sigma = min(max(-0.0125 * log_g - 0.0059, 0.008), 0.045)
    return mu, sigma


@pytest.mark.parametrize("ghat", [0.05, 0.5])
def test_drift_exponent_distribution_ks(pcm, ghat):
    nu = _program(pcm, ghat)["nu"].double().flatten().numpy()
    mu, sigma = _nu_moments(ghat)
    # nu = |N(mu, sigma)|: a folded normal
    d = stats.kstest(nu, stats.foldnorm(mu / sigma, scale=sigma).cdf).statistic
    assert d < 1.95 / math.sqrt(N)


def test_mean_drift_factor_of_a_fully_on_device_after_one_day(pcm):
    state = _program(pcm, 1.0)
    t = 86400.0
    g = pcm.read(state, t, None).double().flatten()  # no read noise: drift alone
    factor = g / state["g"].double().flatten()
    mu, sigma = _nu_moments(1.0)  # 0.049, 0.008
    log_ratio = math.log((t + 20.0) / 20.0)
    # E[(t/t0)^-nu] for nu ~ N(mu, sigma): the normal moment generating function
    mean = math.exp(-mu * log_ratio + (sigma * log_ratio) ** 2 / 2)
    second = math.exp(-2 * mu * log_ratio + 2 * (sigma * log_ratio) ** 2)
    sd = math.sqrt(second - mean**2)
    assert mean == pytest.approx(0.6650, abs=5e-4)
    assert abs(float(factor.mean()) - mean) < K * sd / math.sqrt(N)
    # each device follows (t/t0)^(-nu) exactly
    nu = state["nu"].double().flatten()
    assert torch.allclose(factor, torch.exp(-nu * log_ratio), rtol=1e-5)


@pytest.mark.parametrize("t", [0.0, 86400.0, 3.15e7])
def test_read_noise_matches_q_s(pcm, t):
    ghat = 0.5
    state = _program(pcm, ghat)
    drifted = pcm.read(state, t, None).double()
    noisy = pcm.read(state, t, rng.trial_generators(3, N_TRIALS, "read")).double()
    rel = ((noisy - drifted) / drifted).flatten()
    g_prog = state["g"].double().flatten() / pcm.g_max
    q_s = torch.clamp(0.0088 / g_prog**0.65, max=0.2)
    expected = q_s * math.sqrt(math.log((t + 20.0 + 250e-9) / (2 * 250e-9)))
    z = rel / expected  # standard normal if the model is right
    assert abs(float(z.mean())) < K / math.sqrt(N)
    assert abs(float(z.std()) - 1.0) < K / math.sqrt(2 * N)


def test_trial_draws_do_not_depend_on_the_number_of_trials(pcm):
    target = torch.linspace(0, pcm.g_max, 100)
    three = pcm.program(target, rng.trial_generators(7, 3, "x"))
    five = pcm.program(target, rng.trial_generators(7, 5, "x"))
    assert torch.equal(three["g"], five["g"][:3]) and torch.equal(three["nu"], five["nu"][:3])
    other = pcm.program(target, rng.trial_generators(8, 3, "x"))
    assert not torch.equal(three["g"], other["g"])


def test_rejects_targets_outside_the_range_and_negative_time(pcm):
    with pytest.raises(ValueError, match="outside the device range"):
        pcm.program(torch.tensor([30e-6]), rng.trial_generators(0, 1, "x"))
    state = _program(pcm, 0.5)
    with pytest.raises(ValueError, match="time"):
        pcm.read(state, -1.0, None)
