import pytest
import torch

import neuroemu
from neuroemu.cost import Ledger, recording
from neuroemu.lowbit import LowBit
from neuroemu.lowbit.execution import BitExactLinear
from neuroemu.lowbit.layers import QuantLinear
from neuroemu.nets import LeNet5, load_checkpoint, save_checkpoint


def _model(quant: str, seed: int = 0) -> LeNet5:
    torch.manual_seed(seed)
    return LeNet5(quant=quant).eval()


def test_bnn_bit_exact_equals_float_binarised_network():
    model = _model("bnn")
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    emulated = neuroemu.map(model, LowBit())
    ledger = Ledger()
    with torch.no_grad(), recording(emulated, ledger):
        exact, reference = emulated(x), model(x)
    # integer popcounts and ±1 float sums are both exact: identical outputs
    assert torch.equal(exact, reference)
    n = len(x)
    assert ledger.count("xnor_popcount", layer="conv2") == n * 16 * 10 * 10 * 150
    assert ledger.count("xnor_popcount", layer="fc1") == n * 120 * 400
    assert ledger.count("xnor_popcount", layer="fc3") == n * 10 * 84
    # conv1 sees real pixels: one signed add per weight use
    assert ledger.count("signed_add", layer="conv1", weights="binary") == n * 28 * 28 * 6 * 25
    assert ledger.count("mac") == 0


def test_xnor_net_bit_exact_and_float_first_last_layers():
    model = _model("xnor", seed=2)
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    emulated = neuroemu.map(model, LowBit())
    ledger = Ledger()
    with torch.no_grad(), recording(emulated, ledger):
        exact, reference = emulated(x), model(x)
    # α_c·popcount vs a float sum of ±α_c terms: equal up to float32 rounding of the sum
    assert torch.allclose(exact, reference, rtol=0, atol=1e-4)
    assert torch.equal(exact.argmax(1), reference.argmax(1))
    assert ledger.count("mac", layer="conv1", bits=32) == 4 * 28 * 28 * 6 * 25
    assert ledger.count("mac", layer="fc3", bits=32) == 4 * 10 * 84
    assert ledger.count("scale_multiply", layer="fc1") == 4 * 120


def test_ternary_counts_only_nonzero_weights():
    model = _model("ternary", seed=4)
    emulated = neuroemu.map(model, LowBit())
    ledger = Ledger()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad(), recording(emulated, ledger):
        assert torch.allclose(emulated(x), model(x))
    nonzero = int((model.fc1.quantized_weight() != 0).sum())
    assert 0 < nonzero < 120 * 400
    assert ledger.count("signed_add", layer="fc1", weights="ternary") == 2 * nonzero


def test_float_model_is_refused():
    with pytest.raises(ValueError, match="trained with --quant"):
        neuroemu.map(LeNet5(), LowBit())


def test_quantised_checkpoint_round_trip(tmp_path):
    model = _model("dorefa:2,2")
    path = save_checkpoint(model, tmp_path / "q.pt", dataset="mnist", normalize="unit", provenance={})
    loaded = load_checkpoint(path)
    assert loaded.config["quant"] == "dorefa:2,2"
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded.build()(x), model(x))


def test_a_bare_layer_is_mapped():
    layer = QuantLinear(70, 3, weight_kind="binary")
    emulated = neuroemu.map(layer, LowBit())
    assert isinstance(emulated[0], BitExactLinear)
    x = torch.where(torch.rand(4, 70) < 0.5, -1.0, 1.0)
    with torch.no_grad():
        assert torch.equal(emulated(x), layer(x))
