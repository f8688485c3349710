import json
import pickle

import pytest
import torch
from torch import nn

from neuroemu.digital import count_macs
from neuroemu.ledger import Ledger


class ToyCrossbarLayer(nn.Module):
    """A toy analog layer: one DAC conversion per input, one cell read per weight use, one ADC per output."""

    def __init__(self, ledger: Ledger, rows: int = 4, cols: int = 3) -> None:
        super().__init__()
        self.ledger = ledger
        self.weight = nn.Parameter(torch.ones(cols, rows))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        self.ledger.record("dac_conversion", batch * x.shape[1], layer="toy", bits=4)
        self.ledger.record("cell_read", batch * self.weight.numel(), layer="toy")
        self.ledger.record("adc_conversion", batch * self.weight.shape[0], layer="toy", bits=8)
        return x @ self.weight.T


def test_toy_layer_counts_per_batch_and_merge():
    first, second = Ledger(), Ledger()
    ToyCrossbarLayer(first)(torch.zeros(5, 4))
    ToyCrossbarLayer(second)(torch.zeros(2, 4))
    assert first.count("dac_conversion") == 20
    assert first.count("cell_read") == 60
    assert first.count("adc_conversion", bits=8) == 15
    assert first.count("adc_conversion", bits=6) == 0
    merged = first + second
    assert merged.count("cell_read", layer="toy") == 7 * 12
    assert first.count("cell_read") == 60  # + does not change its operands
    assert merged.events() == ["adc_conversion", "cell_read", "dac_conversion"]


def test_same_identity_accumulates_and_attributes_separate():
    ledger = Ledger()
    ledger.record("adc_conversion", 3, layer="fc1", bits=8)
    ledger.record("adc_conversion", 4, bits=8, layer="fc1")
    ledger.record("adc_conversion", 5, layer="fc1", bits=6)
    ledger.record("adc_conversion", 1, layer="fc2", bits=8)
    assert len(ledger) == 3
    assert ledger.count("adc_conversion", layer="fc1", bits=8) == 7
    assert ledger.count("adc_conversion", layer="fc1") == 12
    assert ledger.count("adc_conversion") == 13


def test_json_and_pickle_round_trip():
    ledger = Ledger()
    ledger.record("sc_gate_cycle", 1024, layer="conv1", gate="xnor")
    ledger.record("spike", 7)
    text = ledger.to_json()
    assert json.loads(text)[0]["event"] == "sc_gate_cycle"
    assert Ledger.from_json(text) == ledger
    assert pickle.loads(pickle.dumps(ledger)) == ledger  # what a worker process sends back


@pytest.mark.parametrize("count", [-1, 1.5, True, torch.tensor(3)])
def test_bad_counts_rejected(count):
    with pytest.raises(ValueError, match="non-negative int"):
        Ledger().record("cell_read", count)


def test_bad_attribute_rejected():
    with pytest.raises(TypeError, match="bits"):
        Ledger().record("adc_conversion", 1, bits=[8])


def test_mac_counter_matches_hand_count():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 5))
    ledger = Ledger()
    with count_macs(model, ledger):
        model(torch.zeros(3, 1, 6, 6))
    assert ledger.count("mac", layer="0") == 3 * (2 * 4 * 4) * (1 * 3 * 3)
    assert ledger.count("mac", layer="2") == 3 * 5 * 32
    model(torch.zeros(1, 1, 6, 6))  # hooks are gone after the block
    assert ledger.count("mac") == 3 * 2 * 16 * 9 + 3 * 5 * 32


def test_per_image_ledgers_add_to_the_totals_and_follow_merges():
    first, second = Ledger(), Ledger()
    first.record("spike", 3, layer="a")
    second.record("spike", 1, layer="a")
    second.record("read", 2, layer="b", bits=1)
    whole = Ledger()
    whole.record_images([first, second])
    assert whole.images == [first, second]
    assert whole.count("spike") == 4 and whole.count("read", bits=1) == 2
    other = Ledger()
    other.record_images([second])
    merged = whole + other
    assert merged.images == [first, second, second] and merged.count("spike") == 5
    assert Ledger.from_list(merged.to_list()) == merged  # the split is not part of the saved ledger
