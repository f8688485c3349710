import warnings

import pytest
import torch

import neuroemu
from neuroemu.nets import LeNet5
from neuroemu.stochastic import BLOCKS, SCNetwork, Stochastic
from neuroemu.stochastic.reference import reference_forward


@pytest.fixture(scope="module")
def tanh_lenet() -> torch.nn.Module:
    torch.manual_seed(0)
    model = LeNet5(activation="tanh", pooling="max").eval()
    with torch.no_grad():  # trained-like magnitudes, so that every layer's Btanh rule applies
        for p in model.parameters():
            p.mul_(3)
    return model


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(("block", "option"), [*((b, {}) for b in BLOCKS),
                                              ("mux-max-stanh", {"mux_select": "weighted"}),
                                              ("mux-avg-stanh", {"mux_select": "weighted"}),
                                              ("apc-max-btanh", {"counter": "approximate"}),
                                              ("apc-avg-btanh", {"counter": "approximate"})])
def test_bit_exact_network_equals_cycle_by_cycle_reference(tanh_lenet, images, block: str,
                                                           option: dict) -> None:
    # (the reference counts with adders.parallel_count's sum or adders.apc_count on explicit product bits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the float network pools by max; avg blocks warn about it
        sc = neuroemu.map(tanh_lenet, Stochastic(length=37, block=block, sng="random", pool_segment=5,
                                                 **option))
    assert isinstance(sc, SCNetwork)
    fast = sc(images)
    assert fast.shape == (2, 10)
    assert torch.equal(fast, reference_forward(sc, images))


def test_result_does_not_depend_on_batching(tanh_lenet, images) -> None:
    spec = Stochastic(length=48, sng="lfsr", seed=4)
    whole = neuroemu.map(tanh_lenet, spec)(images)
    one_by_one = neuroemu.map(tanh_lenet, Stochastic(length=48, sng="lfsr", seed=4, cycle_budget=1))
    assert torch.equal(whole, one_by_one(images))
    assert torch.equal(whole[1:], one_by_one(images[1:]))


def test_ledger_counts_every_event(tanh_lenet, images) -> None:
    length = 40
    sc = neuroemu.map(tanh_lenet, Stochastic(length=length, block="apc-max-btanh", sng="sobol"))
    sc(images)
    led = sc.ledger
    b = images.shape[0]
    assert led.count("sc_gate_cycle", layer="conv1", gate="xnor") == b * 6 * 28 * 28 * 26 * length
    assert led.count("sc_counter_op", layer="fc1", counter="exact", inputs=401) == b * 120 * length
    assert led.count("sc_fsm_update", layer="conv1", fsm="btanh") == b * 6 * 14 * 14 * length
    assert led.count("sc_sng_draw", operand="input", sng="sobol") == b * 32 * 32 * length
    assert led.count("sc_sng_draw", layer="conv2", operand="weight") == b * 16 * 151 * length
    assert led.count("sc_rng_step", layer="conv2", operand="weight") == b * 151 * length  # shared rows
    assert led.count("sc_rng_step", operand="input") == b * 32 * 32 * length
    assert led.count("sc_counter_update", layer="fc3", purpose="output") == b * 10 * length
    assert led.count("sc_compare", layer="conv1", purpose="max_pool") == 3 * 3 * b * 6 * 14 * 14  # 3 segments
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max-pooling float network, avg block
        mux = neuroemu.map(tanh_lenet, Stochastic(length=length, block="mux-avg-stanh"))
    mux(images)
    products = b * 16 * 10 * 10 * length
    assert mux.ledger.count("sc_gate_cycle", layer="conv2", gate="mux", inputs=151) == products
    assert mux.ledger.count("sc_fsm_update", fsm="stanh") > 0


@pytest.mark.parametrize(("block", "sng", "sharing", "bits"), [("apc-max-btanh", "sobol", "shared", 6),
                                                             ("mux-avg-stanh", "lfsr", "private", 8)])
def test_events_carry_what_pricing_needs(tanh_lenet, images, block, sng, sharing, bits) -> None:
    length = 40  # Sobol: 6-bit generators (2**6 >= 40); LFSR: its 8-bit register; counters of 6 bits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max-pooling float network, avg block
        sc = neuroemu.map(tanh_lenet, Stochastic(length=length, block=block, sng=sng, sharing=sharing))
    sc(images)
    entries = sc.ledger.to_list()
    generators = [e for e in entries if e["event"] in ("sc_sng_draw", "sc_rng_step")]
    counters = [e for e in entries if e["event"] in ("sc_counter_update", "sc_compare")]
    assert {e["event"] for e in generators} == {"sc_sng_draw", "sc_rng_step"} and counters
    for e in generators:
        assert {k: e["attrs"][k] for k in ("sng", "bits", "sharing", "length")} == {
            "sng": sng, "bits": bits, "sharing": sharing, "length": length}, e
    assert all(e["attrs"]["bits"] == 6 for e in counters)


def test_recording_context_takes_the_events_like_every_substrate(tanh_lenet, images) -> None:
    from neuroemu.cost import Ledger, recording

    sc = neuroemu.map(tanh_lenet, Stochastic(length=24, sng="sobol"))
    sc(images)
    own = sc.ledger.to_list()
    other = Ledger()
    with recording(sc, other):
        sc(images)
    assert other.to_list() == own and len(other) > 0
    assert sc.ledger.to_list() == own  # the network's own ledger got nothing while recording elsewhere
    sc(images)
    assert sc.ledger == other + other  # and records again afterwards


def test_analytic_mode_is_seeded_with_binomial_spread(tanh_lenet, images) -> None:
    a = neuroemu.map(tanh_lenet, Stochastic(length=64, mode="analytic", seed=1))(images)
    assert torch.equal(a, neuroemu.map(tanh_lenet, Stochastic(length=64, mode="analytic", seed=1))(images))
    long = neuroemu.map(tanh_lenet, Stochastic(length=1 << 20, mode="analytic", seed=2))(images)
    with torch.no_grad():  # very long streams: the analytic mode tends to the ideal tanh network
        ideal = tanh_lenet(images)
    assert float((long - ideal).abs().max()) < 0.05 * float(ideal.abs().max())


@pytest.mark.parametrize(("field", "value", "message"), [
    ("length", 0, "length must be an integer >= 1"),
    ("block", "mux-min-relu", "block must be one of"),
    ("sng", "dice", "sng must be one of"),
    ("mode", "fast", "mode must be one of"),
    ("seed", -1, "seed must be an integer >= 0"),
    ("pool_segment", 0, "pool_segment must be an integer >= 1"),
    ("input_shape", (1, 28), "input_shape"),
    ("mux_select", "random", "mux_select must be one of"),
    ("counter", "fast", "counter must be one of"),
])
def test_spec_validation_names_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Stochastic(**{field: value})


def test_relu_network_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="tanh"):
        neuroemu.map(LeNet5(), Stochastic(length=8))


def test_inputs_outside_the_bipolar_range_are_refused(tanh_lenet) -> None:
    sc = neuroemu.map(tanh_lenet, Stochastic(length=8))
    with pytest.raises(ValueError, match="bipolar range"):
        sc(torch.full((1, 1, 28, 28), 2.0))


def test_measured_agreement_between_analytic_and_bit_exact(tanh_lenet, images) -> None:
    from neuroemu.stochastic.agreement import measure_agreement

    labels = torch.tensor([3, 7])
    spec = Stochastic(length=64, block="apc-avg-btanh", sng="sobol")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = measure_agreement(tanh_lenet, images, labels, spec)
        exact = neuroemu.map(tanh_lenet, spec)(images)
        analytic = Stochastic(length=64, block="apc-avg-btanh", mode="analytic")
        approx = neuroemu.map(tanh_lenet, analytic)(images)
    assert result["prediction_agreement"] == float((exact.argmax(1) == approx.argmax(1)).double().mean())
    assert result["logit_mae"] == pytest.approx(float((exact - approx).abs().mean()))
    assert result["bitexact_accuracy"] == float((exact.argmax(1) == labels).double().mean())


@pytest.mark.parametrize("counter", ["exact", "approximate"])  # conv2 in the windows' layout, or not
@pytest.mark.parametrize("batch", [1, 3])
def test_integer_counts_are_exact_for_any_fan_in(tanh_lenet, batch: int, counter: str) -> None:
    # conv2 (n' = 150) through the banded layout and fc1 (n' = 400, beyond what bfloat16 holds exactly;
    # its constant needs 4 constant-1 columns) against XNOR products counted in int64; all-ones inputs give
    # the largest sums; one image exercises the unfolded rows that reshape to an overlapping view
    sc = neuroemu.map(tanh_lenet, Stochastic(length=16, sng="random", counter=counter))
    gen = torch.Generator().manual_seed(3)
    for layer, shape in ((sc.layers[1], (16, batch, 14, 14, 6)), (sc.layers[2], (16, batch, 400))):
        x = (torch.rand(*shape, generator=gen) < 0.5).to(torch.int8)
        x[:, 0] = 1
        if layer.is_conv:  # (T, B, C, H, W) → the receptive fields in torch's (C, kh, kw) order
            fields = x.to(torch.int64).permute(0, 1, 4, 2, 3).unfold(3, 5, 1).unfold(4, 5, 1)
            inputs = fields.permute(0, 1, 3, 4, 2, 5, 6).flatten(4)  # (T, B, H', W', n')
        else:
            inputs = x.to(torch.int64)
        inputs = torch.cat([inputs, torch.ones(*inputs.shape[:-1], 1, dtype=torch.int64)], -1)  # bias input
        wbits = layer.weight_bits.to(torch.int64)  # (L, O, n)
        wbits = wbits.view(16, *([1] * (inputs.dim() - 2)), *wbits.shape[1:])
        xnor = 1 - (inputs.unsqueeze(-2) ^ wbits)  # (T, B, [H', W',] O, n)
        expected = 2 * xnor.sum(-1) - layer.n_inputs
        got = layer._counts(x)
        got = got.reshape(*got.shape[:2], got.shape[2] * 2, got.shape[4] * 2, -1) if got.dim() == 7 else got
        assert got.dtype == torch.int32
        assert torch.equal(got.to(torch.int64), expected)


def test_threaded_chunks_equal_one_thread(tanh_lenet) -> None:
    images = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    spec = Stochastic(length=40, sng="random", cycle_budget=32)  # blocks of 16 cycles, 2 images per chunk
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = neuroemu.map(tanh_lenet, spec)
        expected = one(images)
        torch.set_num_threads(2)  # three chunks on two worker threads
        two = neuroemu.map(tanh_lenet, spec)
        got = two(images)
        assert torch.get_num_threads() == 2  # restored after the workers
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(got, expected)
    assert one.ledger.to_list() == two.ledger.to_list()


def test_weighted_mux_state_rule_and_select_frequencies() -> None:
    from neuroemu.stochastic.activations import stanh_states

    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    with torch.no_grad():
        model[0].weight[1] = 0.0  # a neuron fed only its bias input
        model[0].weight[2, :3] = 0.0  # inputs that must never be selected
    spec = Stochastic(length=20000, block="mux-max-stanh", sng="random", mux_select="weighted",
                      input_shape=(1, 1, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no pooling in this network
        net = neuroemu.map(torch.nn.Sequential(torch.nn.Flatten(), *model), spec)
    first = net.layers[0]
    l1 = (model[0].weight.abs().sum(1) + model[0].bias.abs()).detach()  # ||w_o||_1 with the bias input
    assert torch.allclose(first.mux_scale, l1.double(), rtol=1e-6)
    assert first.states.tolist() == [stanh_states(float(v)) for v in l1]  # K_o ≈ 2 ||w_o||_1
    assert (first.ip_select[:, 1] == 6).all()  # only the bias input has a weight
    assert not (first.ip_select[:, 2] < 3).any()
    p = torch.cat([model[0].weight, model[0].bias[:, None]], 1).abs().detach()
    p = p / p.sum(1, keepdim=True)
    freq = torch.stack([torch.bincount(first.ip_select[:, o], minlength=7) for o in range(4)]).double()
    assert torch.allclose(freq / 20000, p.double(), atol=0.015)
    # the weights' signs are the (constant) weight streams: x passes or is inverted
    assert torch.equal(first.weight_bits[0], (first.w_tilde >= 0).to(torch.uint8))
    assert torch.equal(first.weight_bits[0], first.weight_bits[-1])


def test_approximate_counter_counts_equal_apc_count(tanh_lenet, images) -> None:
    from neuroemu.stochastic.adders import apc_count, apc_error_bound

    sc = neuroemu.map(tanh_lenet, Stochastic(length=24, sng="random", counter="approximate"))
    fc1 = sc.layers[2]  # n = 401: 200 pairs and a leftover input
    gen = torch.Generator().manual_seed(5)
    x = (torch.rand(24, 3, 400, generator=gen) < 0.5).to(torch.float32)
    d = fc1._counts(x) + fc1._apc_error(x, 0)  # the approximate counter's bipolar count 2 c - n
    counts = (d + fc1.n_inputs) // 2
    inputs = torch.cat([x, torch.ones(24, 3, 1)], 2).to(torch.int64)  # the bias input is a constant 1
    products = 1 - (inputs.unsqueeze(2) ^ fc1.weight_bits.unsqueeze(1).to(torch.int64))  # (L, B, O, n)
    assert torch.equal(counts.to(torch.int64), apc_count(products, dim=3))
    exact = products.sum(3)
    assert 0 < int((counts - exact).abs().max()) <= apc_error_bound(fc1.n_inputs)
    sc(images)
    assert sc.ledger.count("sc_counter_op", layer="fc1", counter="apc", inputs=401) == 2 * 120 * 24
    assert sc.ledger.count("sc_counter_op", counter="exact") == 0


@pytest.mark.parametrize("block", BLOCKS)
def test_odd_feature_maps_equal_the_reference(block: str) -> None:
    torch.manual_seed(4)  # a 9×9 convolution output: pooling drops its last row and column
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 5), torch.nn.Tanh(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 4))
    images = torch.rand(2, 1, 13, 13, generator=torch.Generator().manual_seed(6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = neuroemu.map(model, Stochastic(length=21, block=block, sng="random", pool_segment=4,
                                            input_shape=(1, 13, 13)))
    assert torch.equal(sc(images), reference_forward(sc, images))
    assert sc.ledger.count("sc_gate_cycle", layer="0", gate="xnor") == 2 * 3 * 81 * 26 * 21
