import math

import pytest
import torch

from neuroemu.stochastic.activations import (
    btanh,
    btanh_states,
    saturating_counter,
    stanh,
    stanh_states,
    stanh_steady_state,
)
from neuroemu.stochastic.sng import Source, compare


def test_stanh_hand_worked() -> None:
    # K = 4 starts in state 2; up on 1, down on 0, clamped to 0..3; output 1 in states 2, 3
    bits = torch.tensor([1, 1, 1, 0, 0, 0, 1])
    assert stanh(bits, 4).tolist() == [1, 1, 1, 1, 0, 0, 0]


def test_btanh_hand_worked() -> None:
    # n = 2, r = 4: state += 2c - 2, clamped to 0..3, output 1 when state >= 2; start 2
    counts = torch.tensor([2, 2, 0, 1, 2, 0, 0])
    # states: 3, 3, 1, 1, 3, 1, 0
    assert btanh(counts, 2, 4).tolist() == [1, 1, 0, 0, 1, 0, 0]


def test_kim_state_rule_hand_worked() -> None:
    assert btanh_states(25) == 50  # s = 1: r = 2n
    # n = 25, s = 0.5: q = 1.835 * 50**-0.5552 = 0.2092; r/2 = round(0.5 * 24 / (0.5 * 0.7908)) + 25 = 55
    assert btanh_states(25, 0.5) == 110
    assert btanh_states(1) == 2
    with pytest.raises(ValueError, match="n_inputs"):
        btanh_states(0)
    assert stanh_states(3.2) == 6 and stanh_states(0.1) == 2


@pytest.mark.parametrize("states", [4, 8])
@pytest.mark.parametrize("x", [-0.6, -0.1, 0.25, 0.7])
def test_stanh_matches_its_birth_death_steady_state(states: int, x: float) -> None:
    n, length = 1024, 4096
    burn = states * states  # the chain relaxes within about K**2 cycles
    bits = compare(torch.tensor((x + 1) / 2), Source("random", seed=states).draw(n, length + burn))
    out = saturating_counter((2 * bits.to(torch.int32) - 1).t(), states)[burn:]
    decoded = float(2 * out.double().mean() - 1)
    # time averages of the chain: integrated autocorrelation time below K**2, so s.e. <= sqrt(K**2 / (L n))
    tol = 4 * math.sqrt(states**2 / (length * n))
    assert abs(decoded - float(stanh_steady_state(torch.tensor(x), states))) <= tol


def test_stanh_steady_state_bias_against_tanh() -> None:
    x = torch.linspace(-1, 1, 2001, dtype=torch.float64)
    bias4 = float((stanh_steady_state(x, 4) - torch.tanh(2 * x)).abs().max())
    bias8 = float((stanh_steady_state(x, 8) - torch.tanh(4 * x)).abs().max())
    assert round(bias4, 2) == 0.05 and round(bias8, 2) == 0.01
    # the closed form of the chain for K = 2: output = x
    assert torch.allclose(stanh_steady_state(x, 2), x)


def test_btanh_approximates_tanh_of_the_bipolar_sum() -> None:
    n, length, lanes = 16, 4096, 64
    xs = torch.linspace(-0.5, 0.5, lanes)
    p = ((xs + 1) / 2).view(-1, 1).expand(lanes, n)
    bits = compare(p, Source("random", seed=3).draw(lanes * n, length).view(lanes, n, length))
    counts = bits.sum(1)
    r = btanh_states(n)
    out = btanh(counts, n, r).double().mean(-1) * 2 - 1
    target = torch.tanh(n * xs.double())  # s = 1: tanh of the bipolar sum n x
    assert float((out - target).abs().mean()) <= 0.1


def test_counter_rejects_odd_states() -> None:
    with pytest.raises(ValueError, match="even integer"):
        saturating_counter(torch.zeros(3, 1), 5)
