"""A bit-exact length whose streams cannot be held is refused with the estimate, before anything is drawn."""

from __future__ import annotations

import pytest

import neuroemu
from neuroemu import memory
from neuroemu.cli import main
from neuroemu.nets import load_model
from neuroemu.stochastic import Stochastic


def test_a_length_that_cannot_be_held_is_refused_with_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    net = load_model("lenet5-mnist-tanh")
    monkeypatch.setattr(memory, "available_memory", lambda: 64 * 2**20)  # 64 MiB
    # LeNet-5 holds ~74 kB per cycle (fc1: 120 × 401 weight bits + 8-byte draws): 1024 cycles ≈ 73 MiB
    with pytest.raises(ValueError, match=r"Stochastic.length = 1024 needs about 0.1 GiB .* at most about \d+ "
                                         r"cycles fit"):
        neuroemu.map(net, Stochastic(length=1024))
    neuroemu.map(net, Stochastic(length=256))  # ~18 MiB: fits
    neuroemu.map(net, Stochastic(length=1024, mode="analytic"))  # no streams to hold


def test_the_commands_refuse_it_before_any_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sc-sweep", "--model", "lenet5-mnist-tanh", "--lengths", "1000000000", "--limit", "2"]) == 2
    assert "--length / --lengths" in capsys.readouterr().err
    assert main(["energy", "--model", "lenet5-mnist-tanh", "--substrate", "stochastic", "--length",
                 "1000000000", "--images", "1"]) == 2
    assert "needs about" in capsys.readouterr().err
