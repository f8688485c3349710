"""A bit-exact length whose streams cannot be held is refused with the estimate, before anything is drawn."""

from __future__ import annotations

import pytest

import neuroemu
from neuroemu import memory
from neuroemu.cli import main
from neuroemu.nets import load_model
from neuroemu.stochastic import Stochastic
from neuroemu.stochastic.network import operand_bytes


def test_a_length_that_cannot_be_held_is_refused_with_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    net = load_model("lenet5-mnist-tanh")
    monkeypatch.setattr(memory, "available_memory", lambda: 256 * 2**20)  # 256 MiB, half of it usable
    # LeNet-5 holds ~361 kB per cycle: ~75 kB of 8-byte draws and weight bits (fc1: 120 × 401) and ~286 kB
    # of int8 matrix operands (conv2's banded matrices: 506 × 320): 1024 cycles ≈ 0.34 GiB
    with pytest.raises(ValueError, match=r"Stochastic.length = 1024 needs about 0.3 GiB .* at most about \d+ "
                                         r"cycles fit"):
        neuroemu.map(net, Stochastic(length=1024))
    neuroemu.map(net, Stochastic(length=256))  # ~88 MiB: fits
    neuroemu.map(net, Stochastic(length=1024, mode="analytic"))  # no streams to hold


def test_the_commands_refuse_it_before_any_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sc-sweep", "--model", "lenet5-mnist-tanh", "--lengths", "1000000000", "--limit", "2"]) == 2
    assert "--length / --lengths" in capsys.readouterr().err
    assert main(["energy", "--model", "lenet5-mnist-tanh", "--substrate", "stochastic", "--length",
                 "1000000000", "--images", "1"]) == 2
    assert "needs about" in capsys.readouterr().err


@pytest.mark.parametrize("counter", ["exact", "approximate"])
def test_the_estimate_bounds_the_operands_each_block_caches(counter: str) -> None:
    net = load_model("lenet5-mnist-tanh")
    sc = neuroemu.map(net, Stochastic(length=4, counter=counter))
    widths = {"conv1": 28, "conv2": 14}
    for layer in sc.layers:  # bytes per cycle
        assert layer.matrix_shape()[1:] == tuple(layer._counter_operands().shape[1:])  # as benchmarked
        cached = layer._counter_operands().numel() // 4
        if counter == "approximate":
            coeff, const = layer._apc_error_operands()
            cached += (coeff.numel() + const.numel() * const.element_size()) // 4
        estimate = operand_bytes(getattr(net, layer.name), widths.get(layer.name, 1), counter)
        assert cached <= estimate
        if counter == "exact":  # exact for the pair-of-rows layout of pooling convolutions
            assert cached == estimate
