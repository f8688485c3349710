"""SC activation functions as saturating up/down counters (finite-state machines).

- **Stanh** (Brown & Card, IEEE Trans. Computers 2001): a ``K``-state saturating counter driven by one
  bipolar stream; each cycle the state moves up on a 1 and down on a 0 (clamped to ``0..K-1``) and the
  output is 1 in the upper half of the states. Its state is a birth-death chain whose steady state is
  ``pi_i ∝ rho**i`` with ``rho = p / (1 - p)``, and the decoded output approximates ``tanh(K/2 · x)``.
- **Btanh** (Kim et al., DAC 2016, used by SC-DCNN's APC blocks): the same counter driven by the binary
  count ``c`` of an ``n``-input parallel counter: ``state += 2c - n``, clamped to ``0..r-1``, output 1
  when ``state >= r/2``. With ``r`` chosen by :func:`btanh_states` it approximates ``tanh(t / s)`` of the
  bipolar sum ``t = sum_i x_i`` of the ``n`` inputs *for small inputs only*. Its gain depends on the
  inputs: the counter is a random walk with steps of mean ``t`` and variance ``sum_i (1 - x_i^2)`` (each
  input is a Bernoulli bit), whose steady state on ``r`` states is, in the diffusion limit,
  ``∝ exp(2 t state / sum_i (1 - x_i^2))``, so the output is about ``tanh(t r / (2 sum_i (1 - x_i^2)))``:
  with ``r = 2n`` (``s = 1``), ``tanh(t · n / sum_i (1 - x_i^2))`` rather than ``tanh(t)``. The gain
  ``n / sum_i (1 - x_i^2) >= 1`` grows as the inputs move away from 0: for inputs uniform in [-1, 1] it is
  about 1.5 and Btanh's exact steady state (:func:`btanh_steady_state`) is up to 0.19–0.33 away from
  ``tanh(t)`` (n = 4…64), but within 0.036 of ``tanh(t n / sum_i (1 - x_i^2))``
  (``benchmarks/btanh_gain.py``; ``tests/stochastic/test_sc_btanh_gain.py``). Kim et al.'s state rule
  (:func:`btanh_states`) sizes ``r`` from ``n`` and ``s`` alone, not from the inputs' magnitudes.

Both update first and output from the new state; the counter starts at state ``states // 2``. The
counter core works time-major: ``steps`` is ``(L, ...)``.
"""

import math

import torch

from neuroemu.ledger import Ledger


def btanh_states(n_inputs: int, scale: float = 1.0) -> int:
    """Kim et al.'s number of Btanh states ``r`` for an ``n``-input counter and input scale ``s``.

    ``q = 1.835 (2n)^(-0.5552)``, ``r/2 = round((1 - s)(n - 1) / (s (1 - q))) + n`` (Kim et al., DAC 2016,
    Sec. 4): ``s = 1`` gives ``r = 2n`` and the output approximates ``tanh(sum)``; ``s < 1`` steepens it to
    about ``tanh(sum / s)``.
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or n_inputs < 1:
        raise ValueError(f"n_inputs must be a positive integer, got {n_inputs!r}")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    q = 1.835 * (2.0 * n_inputs) ** -0.5552
    half = round((1.0 - scale) * (n_inputs - 1) / (scale * (1.0 - q))) + n_inputs
    if half < 1:
        raise ValueError(f"scale {scale} is too large for {n_inputs} inputs: no positive state count")
    return 2 * half


def stanh_states(gain: float) -> int:
    """Even number of Stanh states ``K >= 2`` closest to ``2 * gain``, so that Stanh ≈ ``tanh(gain · x)``."""
    if not (isinstance(gain, int | float) and math.isfinite(gain) and gain > 0):
        raise ValueError(f"gain must be a positive finite number, got {gain!r}")
    return max(2, 2 * round(gain))


def saturating_counter(steps: torch.Tensor, states: int, *, ledger: Ledger | None = None,
                       layer: str | None = None, kind: str = "btanh") -> torch.Tensor:
    """Run the counter over ``steps`` (time-major integer-valued tensor ``(L, ...)``); return 0/1 output bits.

    The output has the dtype of the steps (int32 for integer steps).
    """
    _check_states(states)
    # float32 holds every integer state exactly (|state| < 2**24); integer steps are kept as they are
    dtype = steps.dtype if steps.dtype.is_floating_point else torch.int32
    steps = steps.to(dtype).contiguous()
    state = torch.full(steps.shape[1:], states // 2, dtype=dtype)
    out = torch.empty(steps.shape, dtype=dtype)
    counter_scan(steps, state, states, out)
    if ledger is not None:
        ledger.record("sc_fsm_update", int(steps.numel()), layer=layer, fsm=kind, states=states)
    return out


def counter_scan(steps: torch.Tensor, state: torch.Tensor, states: int | torch.Tensor,
                 out: torch.Tensor) -> None:
    """The counter's clock loop, in place: from ``state`` (updated), over ``steps`` ``(T, ...)``, bits into
    ``out``.

    ``state`` has the dtype of ``steps`` (a float dtype holds the integer states exactly); ``out`` may have
    any dtype (0/1 are written), so a block's output can be written in the next block's operand dtype. Used
    by the networks to carry the counter across blocks of cycles. ``states`` may be a tensor of even state
    counts, one per neuron along the last dimension (a Stanh sized per neuron).
    """
    if isinstance(states, int):  # each cycle's state into a history, whose outputs are one comparison
        top = states - 1
        history = torch.empty_like(steps)
        previous = state
        for step, now in zip(steps.unbind(0), history.unbind(0), strict=True):
            torch.add(previous, step, out=now).clamp_(0, top)
            previous = now
        state.copy_(previous)
        torch.ge(history, states // 2, out=out)
        return
    # one state count per neuron (the last dimension)
    half, top = (states // 2).to(state.dtype), (states - 1).to(state.dtype)
    for step, bits in zip(steps.unbind(0), out.unbind(0), strict=True):
        torch.minimum(state.add_(step).clamp_(min=0), top, out=state)
        torch.ge(state, half, out=bits)


def _check_states(states: int) -> None:
    if isinstance(states, bool) or not isinstance(states, int) or states < 2 or states % 2:
        raise ValueError(f"states must be an even integer >= 2, got {states!r}")


def stanh(bits: torch.Tensor, states: int, *, ledger: Ledger | None = None,
          layer: str | None = None) -> torch.Tensor:
    """Stanh on 0/1 streams with the cycle axis last: ``≈ tanh(states/2 · x)`` of bipolar ``x``."""
    steps = (2 * bits.to(torch.int32) - 1).movedim(-1, 0)
    out = saturating_counter(steps, states, ledger=ledger, layer=layer, kind="stanh")
    return out.movedim(0, -1).to(torch.uint8)


def btanh(counts: torch.Tensor, n_inputs: int, states: int, *, ledger: Ledger | None = None,
          layer: str | None = None) -> torch.Tensor:
    """Btanh on per-cycle counts of an ``n_inputs`` parallel counter (cycle axis last)."""
    if (counts < 0).any() or (counts > n_inputs).any():
        raise ValueError(f"counts must lie in 0..{n_inputs}")
    steps = (2 * counts.to(torch.int32) - n_inputs).movedim(-1, 0)
    out = saturating_counter(steps, states, ledger=ledger, layer=layer, kind="btanh")
    return out.movedim(0, -1).to(torch.uint8)


def btanh_steady_state(x: torch.Tensor, states: int) -> torch.Tensor:
    """Exact steady-state bipolar output of a ``states``-state Btanh fed by an ``n``-input exact parallel
    counter whose inputs are independent streams of bipolar values ``x`` (``(..., n)``; one chain per row).

    The count ``c`` of a cycle is Poisson-binomial (``p_i = (x_i + 1) / 2``, by convolution); the chain
    ``state -> clamp(state + 2c - n, 0, states - 1)`` has the transition matrix built from it, and its
    stationary distribution ``pi`` (the left eigenvector of eigenvalue 1, solved as a linear system) gives
    ``2 sum_{i >= states/2} pi_i - 1``."""
    _check_states(states)
    x = torch.as_tensor(x, dtype=torch.float64)
    rows = x.reshape(-1, x.shape[-1])
    n = rows.shape[1]
    out = torch.empty(rows.shape[0], dtype=torch.float64)
    state = torch.arange(states)
    for k, values in enumerate(rows):
        pmf = torch.ones(1, dtype=torch.float64)
        for p in (values + 1) / 2:  # Poisson-binomial pmf of the count
            pmf = torch.cat([pmf * (1 - p), torch.zeros(1, dtype=torch.float64)]) + torch.cat(
                [torch.zeros(1, dtype=torch.float64), pmf * p])
        target = (state[:, None] + 2 * torch.arange(n + 1)[None, :] - n).clamp(0, states - 1)  # (r, n+1)
        transition = torch.zeros(states, states, dtype=torch.float64)
        transition.scatter_add_(1, target, pmf.expand(states, -1).contiguous())
        system = transition.t() - torch.eye(states, dtype=torch.float64)
        system[-1] = 1.0  # replace one equation by sum(pi) = 1
        rhs = torch.zeros(states, dtype=torch.float64)
        rhs[-1] = 1.0
        pi = torch.linalg.solve(system, rhs)
        out[k] = 2 * pi[states // 2:].sum() - 1
    return out.reshape(x.shape[:-1])


def stanh_steady_state(x: torch.Tensor, states: int) -> torch.Tensor:
    """Exact steady-state bipolar output of a ``states``-state Stanh fed a stream of bipolar value ``x``.

    The birth-death chain has ``pi_i ∝ rho**i``, ``rho = p / (1 - p)``, ``p = (x + 1) / 2``; the output is
    ``2 sum_{i >= K/2} pi_i - 1``.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    p = ((x + 1) / 2).clamp(1e-300, 1 - 1e-16)
    log_rho = torch.log(p) - torch.log1p(-p)
    i = torch.arange(states, dtype=torch.float64)
    logw = log_rho.unsqueeze(-1) * i
    w = torch.softmax(logw, dim=-1)
    return 2 * w[..., states // 2:].sum(-1) - 1
