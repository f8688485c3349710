"""The analytic mode against the bit-exact one: the paired error, the measured table, sc-sweep's warnings."""

from __future__ import annotations

import json
import math

import pytest
import torch

import neuroemu
from neuroemu.cli import main
from neuroemu.data import load_tensors
from neuroemu.nets import load_model
from neuroemu.stochastic import BLOCKS, Stochastic
from neuroemu.stochastic.agreement import MEASURED, analytic_warnings, measure_agreement, paired_error


def test_the_paired_error_of_two_accuracies_on_the_same_images():
    exact = torch.tensor([True, True, False, False])
    analytic = torch.tensor([True, False, True, True])
    # only exact right: 1/4, only analytic right: 2/4
    assert paired_error(exact, analytic) == pytest.approx(math.sqrt((0.75 - 0.25**2) / 4))
    assert paired_error(exact, exact) == 0.0
    with pytest.raises(ValueError, match="equally long"):
        paired_error(exact, analytic[:3])


def test_the_table_covers_every_block_and_warns_only_where_the_modes_disagree():
    assert {block for block, _ in MEASURED} == set(BLOCKS)
    assert analytic_warnings(Stochastic(block="apc-max-btanh"), [64]) == []  # bit-exact: nothing to say
    notes = analytic_warnings(Stochastic(block="apc-max-btanh", mode="analytic"), [64, 1024])
    assert len(notes) == 2 and "apc-max-btanh at L = 64: measured 99.0 % against 23.8 % bit-exact" in notes[0]
    assert analytic_warnings(Stochastic(block="mux-avg-stanh", mode="analytic"), [64]) == []  # they agree
    far = analytic_warnings(Stochastic(block="mux-max-stanh", mode="analytic"), [4096])
    assert far and "L = 4096 (measured at L = 1024)" in far[0]
    # a per-layer design: every block it uses
    mixed = analytic_warnings(Stochastic(block="mux-avg-stanh", blocks="fc3=apc-avg-btanh", mode="analytic"),
                              [64])
    assert len(mixed) == 1 and "apc-avg-btanh" in mixed[0]


def test_the_analytic_mode_no_longer_flatters_mux_blocks(data_root):
    """The Stanh counts a MUX stream with noise g n / sqrt(L) on the pre-activation: near chance at
    L = 1024 (it was 99.5 %), close to the float network only for very long streams."""
    net = load_model("lenet5-mnist-tanh")
    images, labels = load_tensors("mnist", "test", normalize="unit", limit=16)

    def accuracy(length: int) -> float:
        sc = neuroemu.map(net, Stochastic(length=length, block="mux-max-stanh", mode="analytic"))
        with torch.inference_mode():
            return float((sc(images).argmax(1) == labels).double().mean())

    assert accuracy(1024) <= 0.6
    assert accuracy(1 << 20) >= 0.9


def test_measure_agreement_reports_the_error_and_whether_the_modes_disagree(data_root):
    net = load_model("lenet5-mnist-tanh")
    images, labels = load_tensors("mnist", "test", normalize="unit", limit=4)
    result = measure_agreement(net, images, labels, Stochastic(length=16))
    assert 0 <= result["error"] <= 0.5 and isinstance(result["disagree"], bool)
    difference = abs(result["analytic_accuracy"] - result["bitexact_accuracy"])
    assert result["disagree"] == (difference > 2 * result["error"])


def test_sc_sweep_warns_in_analytic_mode(data_root, capsys):
    assert main(["sc-sweep", "--mode", "analytic", "--block", "mux-max-stanh", "--lengths", "256,1024",
                 "--limit", "4", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert len(result["warnings"]) == 1 and "mux-max-stanh at L = 1024" in result["warnings"][0]
    assert "sc-sweep: warning: analytic mode, mux-max-stanh at L = 1024" in captured.err
