"""Rate-coded spiking execution: IF dynamics against theory, conversion, events, reproducibility, brian2."""

import itertools
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import neuroemu
from neuroemu.cost import Ledger, recording
from neuroemu.data import load_tensors
from neuroemu.nets import LeNet5, load_checkpoint
from neuroemu.spiking import Spiking, SpikingNetwork, calibrate
from neuroemu.spiking.scan import MEMORY_BUDGET, gate_dtype, gate_max, plan, window_major


def one_hidden_layer(weights: torch.Tensor, readout: torch.Tensor | None = None) -> nn.Sequential:
    """Linear(n→m, bias 0) → ReLU → Linear(m→k, bias 0)."""
    m, n = weights.shape
    readout = torch.eye(m) if readout is None else readout
    first, last = nn.Linear(n, m, bias=False), nn.Linear(m, readout.shape[0], bias=False)
    first.weight.data.copy_(weights)
    last.weight.data.copy_(readout)
    return nn.Sequential(first, nn.ReLU(), last)


def converted(model: nn.Module, scales: list[float], **spec) -> SpikingNetwork:
    snn = neuroemu.map(model, Spiking(**spec))
    snn.scales = scales  # set by hand: the tests below fix λ rather than calibrating it
    return snn


@pytest.mark.parametrize("current", [0.375, 0.265625, 0.6875, 0.9375, 0.046875])  # exact in binary
def test_reset_by_subtraction_fires_floor_t_times_the_current(current):
    """A constant current c ∈ [0, 1) into an IF neuron (threshold 1, reset by subtraction) gives exactly
    ⌊T·c⌋ spikes in T steps; the readout is λ·spikes / T."""
    steps, lam = 100, 2.0
    snn = converted(one_hidden_layer(torch.tensor([[lam * current]])), [lam], timesteps=steps)
    out = snn(torch.ones(1, 1))
    assert out.item() == pytest.approx(lam * math.floor(steps * current) / steps, abs=1e-6)


@pytest.mark.parametrize("current", [0.375, 0.265625, 0.6875])
def test_reset_to_zero_fires_every_ceil_one_over_c_steps(current):
    steps = 100
    snn = converted(one_hidden_layer(torch.tensor([[current]])), [1.0], timesteps=steps, reset="zero")
    period = math.ceil(1 / current)
    assert snn(torch.ones(1, 1)).item() == pytest.approx((steps // period) / steps, abs=1e-6)


def test_one_layer_readout_error_within_the_rate_quantisation_bound():
    """With reset by subtraction the readout differs from the ReLU network by at most Σ_j |W2_j|·λ / T."""
    g = torch.Generator().manual_seed(3)
    weights, readout = torch.randn(6, 4, generator=g), torch.randn(3, 6, generator=g)
    model = one_hidden_layer(weights, readout)
    x = torch.rand(32, 4, generator=g)
    lam = float(torch.relu(x @ weights.t()).max())  # max-norm: every rate in [0, 1]
    for steps in (8, 64, 512):
        snn = converted(model, [lam], timesteps=steps)
        with torch.no_grad():
            error = (snn(x) - model(x)).abs()
        bound = readout.abs().sum(1) * lam / steps
        assert (error <= bound + 1e-5).all(), steps


class ConvNet(nn.Module):
    """conv-relu-avgpool-conv-relu-maxpool-flatten-linear-relu-linear with its forward written out (not an
    nn.Sequential: the conversion checks on a probe input that the forward is its children in order)."""

    def __init__(self, second_pool: type[nn.Module] = nn.MaxPool2d) -> None:
        super().__init__()
        self.conv1, self.relu1, self.pool1 = nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)
        self.conv2, self.relu2, self.pool2 = nn.Conv2d(4, 8, 3), nn.ReLU(), second_pool(2)
        self.flatten, self.fc1, self.relu3 = nn.Flatten(), nn.Linear(32, 16), nn.ReLU()
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc2(self.relu3(self.fc1(self.flatten(x))))


def mlp() -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(36, 20), nn.ReLU(), nn.Linear(20, 12), nn.ReLU(),
                         nn.Linear(12, 4))


def propagated_bound(snn: SpikingNetwork, steps: int) -> torch.Tensor:
    """The one-layer bound above carried through the layers: each IF layer's rate is within 1/T of its
    ideal plus its input's error carried through |W_l·λ_(l−1)/λ_l| (the first layer's constant input is
    exact); average pooling averages errors; the readout error is |W_out·λ_L| times the last rate error."""
    error = torch.zeros(1, *snn.spec.input_shape, dtype=torch.float64)
    weights = snn._scaled_weights()
    for op in snn.ops:
        if op.kind == "weight":
            layer, w = snn.layers[op.index], weights[op.index][0].abs()
            error = (F.conv2d(error, w, stride=layer.stride, padding=layer.padding)
                     if isinstance(layer, nn.Conv2d) else F.linear(error, w))
            error = error if op.output else error + 1.0 / steps
        elif op.kind == "avg":
            error = F.avg_pool2d(error, op.kernel)
        else:
            assert op.kind == "flatten", "the bound covers no max pooling (its spike gate is not exact)"
            error = error.flatten(1)
    return error[0]


@pytest.mark.parametrize(("make", "shape"), [(lambda: ConvNet(nn.AvgPool2d), (1, 12, 12)), (mlp, (1, 6, 6))])
def test_any_sequential_relu_network_converts_within_the_rate_bound(make, shape):
    """A network other than LeNet-5 converts; its readout error stays within the propagated rate bound at
    every T and shrinks as T grows (max-norm scales on the same images: every ideal rate in [0, 1])."""
    torch.manual_seed(0)
    model = make().eval()
    x = torch.rand(8, *shape)
    with torch.no_grad():
        reference = model(x)
    errors = []
    for steps in (16, 32, 64):
        snn = neuroemu.map(model, Spiking(timesteps=steps, percentile=100, input_shape=shape))
        calibrate(snn, x)
        with torch.no_grad():
            error = (snn(x) - reference).abs()
        assert (error <= propagated_bound(snn, steps) + 1e-5).all(), steps
        errors.append(float(error.mean()))
    assert errors[2] < errors[0] / 3  # the error falls about as 1/T: 4x the steps, a quarter of the error


def test_network_with_spike_gated_max_pooling_approaches_the_relu_network():
    """conv-relu-avgpool-conv-relu-maxpool-flatten-linear-relu-linear: the gate passes the neuron that has
    fired most so far, which converges more slowly than 1/T but converges."""
    torch.manual_seed(0)
    model = ConvNet().eval()
    snn = neuroemu.map(model, Spiking(input_shape=(1, 12, 12)))
    assert [(op.kind, op.name) for op in snn.ops] == [
        ("weight", "conv1"), ("avg", "pool1"), ("weight", "conv2"), ("max", "pool2"), ("flatten", "flatten"),
        ("weight", "fc1"), ("weight", "fc2")]
    x = torch.rand(8, 1, 12, 12)
    with torch.no_grad():
        reference = model(x)
    errors = []
    for steps in (16, 128):
        snn = neuroemu.map(model, Spiking(timesteps=steps, percentile=100, input_shape=(1, 12, 12)))
        calibrate(snn, x)
        with torch.no_grad():
            errors.append(float((snn(x) - reference).abs().mean()))
    assert errors[1] < errors[0] / 2  # 8x the steps: the gated error falls more slowly than 1/T (here ~3x)


class Reordered(nn.Module):
    """Its forward applies fc2 before fc1: converting its children in order would be another network."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten, self.fc1, self.relu = nn.Flatten(), nn.Linear(4, 4), nn.ReLU()
        self.fc2 = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc1(self.relu(self.fc2(self.flatten(x))))


class InlineFlatten(nn.Module):
    """Flattens with torch.flatten in its forward: the flatten is not a child."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.relu, self.fc = nn.Conv2d(1, 2, 1), nn.ReLU(), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.relu(self.conv(x)), 1))


@pytest.mark.parametrize(("model", "message"), [(Reordered(), "gives other values"),
                                                (InlineFlatten(), "fails")])
def test_a_forward_that_is_not_its_children_in_order_is_refused(model, message):
    with pytest.raises(ValueError, match=f"{type(model).__name__}'s forward is not its children applied in "
                                         f"order: applying them in order {message}"):
        neuroemu.map(model, Spiking(input_shape=(1, 2, 2)))


def test_images_are_checked_against_the_flatten_before_the_first_layer():
    snn = neuroemu.map(mlp(), Spiking())
    snn.scales = [1.0, 1.0]
    assert snn(torch.rand(2, 1, 6, 6)).shape == (2, 4)
    message = "become shape (2, 49) after '0', but the first weight layer '1' needs 2 dimensions with 36"
    with pytest.raises(ValueError, match=re.escape(message)):
        snn(torch.rand(2, 1, 7, 7))


def test_max_pool_gate_passes_the_most_active_neuron():
    # before this step the top-left neuron fired 3 times, the bottom-left once
    history = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]], [[[1.0, 0.0], [0.0, 0.0]]],
                            [[[1.0, 0.0], [0.0, 0.0]]]])
    _, keys = gate_max(history.unsqueeze(1), 2, None, timesteps=10)
    gated, _ = gate_max(torch.tensor([[[[[0.0, 1.0], [1.0, 1.0]]]]]), 2, keys, timesteps=10)
    assert gated.item() == 0.0  # the others' spikes are gated off
    gated, _ = gate_max(torch.tensor([[[[[1.0, 0.0], [0.0, 0.0]]]]]), 2, keys, timesteps=10)
    assert gated.item() == 1.0


# windows that tile the neurons, and odd sizes that leave edges out
@pytest.mark.parametrize(("kernel", "height", "width"), [(2, 4, 6), (3, 6, 9), (3, 7, 8), (2, 5, 7)])
@pytest.mark.parametrize("timesteps", [10, 5000, 2**23])  # int16, float32 and float64 keys
@pytest.mark.parametrize("spike_dtype", [torch.float32, torch.int16])
def test_max_pool_gate_ties_go_to_the_first_neuron_and_counts_include_the_step(timesteps, kernel, height,
                                                                                width, spike_dtype):
    """Step by step against the rule written out: the window neuron with the most spikes up to and
    including this step passes its spike; ties go to the first in row-major order."""
    g = torch.Generator().manual_seed(4)
    k = kernel
    assert gate_dtype(k, timesteps) == {10: torch.int16, 5000: torch.float32, 2**23: torch.float64}[timesteps]
    spikes = (torch.rand(12, 2, 3, height, width, generator=g) < 0.4).float()
    gated, keys = gate_max(spikes[:5].to(spike_dtype), k, None, timesteps)
    rest, _ = gate_max(spikes[5:].to(spike_dtype), k, keys, timesteps)
    gated = torch.cat([gated, rest])
    assert gated.dtype == torch.float32
    if height % k == 0 and width % k == 0:  # the same gate on spikes laid out window position by position
        windowed = window_major(spikes.to(spike_dtype), k).contiguous()
        first, keys = gate_max(windowed[:5], k, None, timesteps, windowed=True)
        second, _ = gate_max(windowed[5:], k, keys, timesteps, windowed=True)
        assert torch.equal(torch.cat([first, second]), gated)
    assert gated.shape == (12, 2, 3, height // k, width // k)
    counts = spikes.cumsum(0)
    for t, b, c, i, j in itertools.product(range(12), range(2), range(3), range(height // k),
                                           range(width // k)):
        window = counts[t, b, c, k * i:k * i + k, k * j:k * j + k].flatten()
        first = int(torch.nonzero(window == window.max())[0])
        assert gated[t, b, c, i, j] == spikes[t, b, c, k * i + first // k, k * j + first % k]


def test_results_do_not_depend_on_the_chunks_and_blocks():
    """A tiny memory budget cuts the run into chunks of images and blocks of steps: same logits, same
    ledger (potentials and max-pool counts carry over)."""
    torch.manual_seed(5)
    model = LeNet5().eval()
    images = torch.rand(5, 1, 28, 28)
    for spec in (Spiking(timesteps=9), Spiking(timesteps=9, encoding="poisson", reset="zero")):
        snn = neuroemu.map(model, spec)
        calibrate(snn, torch.rand(8, 1, 28, 28))
        whole = snn(images)
        cut = neuroemu.map(model, spec)
        cut.scales = snn.scales
        cut.memory_budget = 2 * 28 * 28 * 6 * 16 * 3  # a few image-steps per block
        assert plan(5, 9, cut._bytes_per_image_step(images.shape[1:]), cut.memory_budget)[1] < 9
        assert torch.equal(cut(images), whole)
        assert cut.ledger == snn.ledger and len(snn.ledger) > 0


def test_a_million_steps_are_planned_within_the_memory_budget():
    snn = neuroemu.map(LeNet5(), Spiking(timesteps=1_000_000))
    per = snn._bytes_per_image_step(torch.Size((1, 28, 28)))
    chunk, block = plan(10_000, 1_000_000, per)
    assert chunk * block * per <= MEMORY_BUDGET and block >= 1 and chunk >= 1


def test_events_counted_by_hand():
    """Synaptic ops = Σ input events × fan-out (brute force over kernel taps); one update per neuron-step."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(8, 3))
    x = (torch.rand(2, 1, 4, 4) > 0.4).float() * torch.rand(2, 1, 4, 4)
    steps = 5
    snn = neuroemu.map(model, Spiking(timesteps=steps))
    calibrate(snn, torch.rand(8, 1, 4, 4))
    with torch.no_grad():
        snn(x)
    fanout = torch.zeros(4, 4)  # conv 3×3, padding 1, 2 output channels: taps that land inside
    for i in range(4):
        for j in range(4):
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    fanout[i, j] += 2 * (0 <= i + di < 4 and 0 <= j + dj < 4)
    nonzero = (x[:, 0] != 0).float()
    # constant input counted as a bias current: each non-zero pixel crosses its fan-out once per image
    assert snn.ledger.count("synaptic_op", layer="0", input="bias") == int((nonzero * fanout).sum())
    spikes = snn.ledger.count("spike_route", layer="0")
    assert snn.ledger.count("synaptic_op", layer="4") == 3 * spikes  # each conv spike reaches 3 outputs
    assert snn.ledger.count("neuron_update", layer="0") == 2 * 2 * 16 * steps
    assert snn.ledger.count("neuron_update", layer="4") == 2 * 3 * steps
    graded = neuroemu.map(model, Spiking(timesteps=steps, input_events="graded"))
    graded.scales = snn.scales
    with torch.no_grad():
        assert torch.equal(graded(x), snn(x))  # the account changes the ledger, not the network
    # the upper bound: every non-zero pixel a graded event at every step
    assert graded.ledger.count("synaptic_op", layer="0", input="graded") == int((nonzero * fanout).sum()) * (
        steps)


@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_same_result_whatever_the_batch(encoding):
    torch.manual_seed(1)
    model = LeNet5().eval()
    images, calibration = torch.rand(6, 1, 28, 28), torch.rand(16, 1, 28, 28)
    spec = Spiking(timesteps=12, encoding=encoding, seed=5)
    snn = neuroemu.map(model, spec)
    calibrate(snn, calibration)
    whole = snn(images)
    assert torch.equal(whole, torch.cat([snn(images[:1]), snn(images[1:4]), snn(images[4:])]))
    again = neuroemu.map(model, spec)
    calibrate(again, calibration, batch_size=5)
    assert again.scales == snn.scales and torch.equal(again(images), whole)


def test_recording_context_takes_the_events():
    snn = converted(one_hidden_layer(torch.tensor([[0.5]])), [1.0], timesteps=4)
    other = Ledger()
    with recording(snn, other):
        snn(torch.ones(1, 1))
    assert other.count("spike_route", layer="0") == 2 and len(snn.ledger) == 0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("timesteps", 0, "timesteps must be an integer >= 1"), ("encoding", "burst", "encoding must be one of"),
    ("reset", "soft", "reset must be one of"), ("percentile", 0, "percentile must be a number in (0, 100]"),
    ("hops_per_spike", -1, "hops_per_spike must be an integer >= 0")])
def test_spec_validation_names_the_field(field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Spiking(**{field: value})


@pytest.mark.parametrize(("model", "message"), [
    (LeNet5(activation="tanh"), re.escape("got 'act1' (Tanh)")),
    (LeNet5(lrn=True), re.escape("layer 'lrn1' (LocalResponseNorm) has no spiking equivalent")),
    (LeNet5(quant="ternary"), re.escape("layer 'conv1' (QuantConv2d) has no spiking equivalent")),
    (nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 2)), "must be followed by ReLU"),
    (nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Softmax(1)), "must give the logits"),
    (nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.MaxPool2d(3, stride=2), nn.Flatten(), nn.Linear(4, 2)),
     "kernel = stride"),
    (nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Dropout(), nn.Flatten(), nn.Linear(4, 2)),
     "no spiking equivalent"),
])
def test_unsupported_models_are_refused_by_name(model, message):
    with pytest.raises(ValueError, match=message):
        neuroemu.map(model, Spiking())


def test_uncalibrated_network_and_bad_pixels_are_refused():
    with pytest.raises(RuntimeError, match="calibrate"):
        neuroemu.map(LeNet5(), Spiking())(torch.rand(1, 1, 28, 28))
    poisson = neuroemu.map(LeNet5(), Spiking(encoding="poisson"))
    poisson.scales = [1.0] * 4
    with pytest.raises(ValueError, match=re.escape("[0, 1]")):
        poisson(torch.full((1, 1, 28, 28), 2.0))
    with pytest.raises(ValueError, match="1 channels in dimension 1"):
        poisson(torch.rand(1, 3, 28, 28))


def test_brian2_integrate_and_fire_gives_the_same_spike_counts():
    """The same IF layer (threshold 1, reset by subtraction, discrete steps) simulated by brian2."""
    b2 = pytest.importorskip("brian2")
    g = torch.Generator().manual_seed(7)
    weights = torch.rand(5, 4, generator=g) * 0.4
    x = torch.rand(1, 4, generator=g)
    steps = 50
    snn = converted(one_hidden_layer(weights), [1.0], timesteps=steps)
    with torch.no_grad():
        counts_torch = (snn(x)[0].double() * steps).round().numpy()
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    group = b2.NeuronGroup(5, "v : 1\nI : 1", threshold="v >= 1", reset="v -= 1", method="euler")
    group.I = (x.double() @ weights.double().t())[0].numpy()
    group.run_regularly("v += I", when="before_thresholds")
    monitor = b2.SpikeMonitor(group)
    b2.run(steps * b2.defaultclock.dt)
    counts_brian = np.bincount(np.asarray(monitor.i), minlength=5)
    assert counts_brian.sum() > 0
    np.testing.assert_array_equal(counts_brian, counts_torch)


def test_shipped_lenet5_converts_with_little_loss(data_root):
    """lenet5-mnist at 32 steps agrees with the float network on nearly every test image."""
    model = load_checkpoint("lenet5-mnist").build()
    train, _ = load_tensors("mnist", "train", normalize="unit", limit=256)
    test, labels = load_tensors("mnist", "test", normalize="unit", limit=200)
    snn = neuroemu.map(model, Spiking(timesteps=32))
    calibrate(snn, train)
    with torch.no_grad():
        ann, spiking = model(test).argmax(1), snn(test).argmax(1)
    assert (ann == spiking).float().mean() >= 0.98
    assert (spiking == labels).float().mean() >= (ann == labels).float().mean() - 0.02
    # fewer steps quantise the rates more coarsely: agreement can only get worse, not better, far down
    short = neuroemu.map(model, Spiking(timesteps=2))
    short.scales = snn.scales
    with torch.no_grad():
        assert (short(test).argmax(1) == ann).float().mean() < (ann == spiking).float().mean()


def test_same_result_whatever_the_thread_count():
    torch.manual_seed(2)
    model = LeNet5().eval()
    images = torch.rand(4, 1, 28, 28)
    snn = neuroemu.map(model, Spiking(timesteps=6))
    calibrate(snn, torch.rand(8, 1, 28, 28))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = snn(images)
        torch.set_num_threads(2)
        two = snn(images)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)


def test_float32_synaptic_sums_are_exact():
    """The rounded weights make every spike-driven sum exact in float32: equal to the float64 sum."""
    torch.manual_seed(3)
    snn = neuroemu.map(LeNet5().eval(), Spiking(timesteps=2))
    calibrate(snn, torch.rand(16, 1, 28, 28))
    weights = snn._scaled_weights()
    exact = snn._exact_weights(weights)
    spikes = (torch.rand(7, 6, 14, 14) < 0.4).float()  # conv2's input after max pooling
    assert torch.equal(F.conv2d(spikes, exact[1]).double(), F.conv2d(spikes.double(), exact[1].double()))
    assert (exact[1].double() - weights[1][0]).abs().max() <= 2.0**-18  # a tiny change of the weights
    hidden = (torch.rand(7, 120) < 0.4).float()
    assert torch.equal(F.linear(hidden, exact[3]).double(), F.linear(hidden.double(), exact[3].double()))
