"""SC networks with stochastic LRN between segments: the LRN block against theory, segments, batching."""

import math

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cost import Ledger, recording
from neuroemu.experiments.energy import measure
from neuroemu.nets import LeNet5
from neuroemu.nets.lenet import LRN
from neuroemu.stochastic import Stochastic
from neuroemu.stochastic.network import SCNetwork
from neuroemu.stochastic.pipeline import SCNormalization, SCPipeline


def normalization(length: int, shape=(6, 4, 4), **lrn) -> SCNormalization:
    module = nn.LocalResponseNorm(**{**LRN, **lrn})
    return SCNormalization("lrn", module, shape=shape, length=length, index=9, mode="bitexact", seed=0)


def test_sc_lrn_block_matches_the_float_lrn_within_stream_noise():
    length = 4096
    x = torch.rand(2, 6, 4, 4, generator=torch.Generator().manual_seed(1)) * 2 - 1
    sc = normalization(length)(x).double()
    exact = nn.functional.local_response_norm(x.double(), **LRN)
    # CORDIV's output repeats the dividend bit on the divisor's ones: a quotient q from about L·p_divisor
    # independent bits, p_divisor = D / D_max >= 1 / D_max, so sigma <= sqrt(q (1 - q) D_max / L)
    d_max = (LRN["k"] + LRN["alpha"]) ** LRN["beta"]
    sigma = math.sqrt(0.25 * d_max / length)
    err = (sc - exact).abs()
    assert err.max() < 5 * sigma
    assert err.mean() < 2 * sigma


def test_sc_lrn_is_odd_and_zero_preserving():
    block = normalization(256)
    x = torch.rand(3, 6, 4, 4, generator=torch.Generator().manual_seed(2)) * 2 - 1
    x[0, :, 0, 0] = 0
    y = block(x)
    assert torch.equal(block(-x), -y)  # the magnitude path does not see the sign
    assert torch.all(y[0, :, 0, 0] == 0)


def test_sc_lrn_rejects_what_it_cannot_map():
    with pytest.raises(ValueError, match="odd size"):
        normalization(64, size=4)
    with pytest.raises(ValueError, match="expects"):
        normalization(64)(torch.zeros(1, 5, 4, 4))


@pytest.fixture(scope="module")
def lrn_net() -> LeNet5:
    torch.manual_seed(0)
    return LeNet5("tanh", lrn=True).eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(3))


def test_lrn_network_maps_to_segments_and_does_not_depend_on_batching(lrn_net, images):
    sc = neuroemu.map(lrn_net, Stochastic(length=64))
    assert isinstance(sc, SCPipeline)
    assert [type(s) for s in sc.stages] == [SCNetwork, SCNormalization, SCNetwork]
    assert [layer.name for layer in sc.stages[0].layers] == ["conv1"]
    out = sc(images)
    assert torch.equal(out, torch.cat([sc(images[:2]), sc(images[2:])]))
    events = {(e["event"], e["layer"]) for e in sc.ledger.to_list()}
    assert {("sc_counter_update", "conv1"), ("sc_sng_draw", "lrn1"), ("sc_rng_step", "lrn1"),
            ("sc_sng_draw", "conv2")} <= events
    for entry in sc.ledger.to_list():  # the normalisation's generators and counters carry their widths too
        if entry["event"] in ("sc_sng_draw", "sc_rng_step"):
            assert {k: entry["attrs"][k] for k in ("bits", "sharing", "length")} == {
                "bits": 6, "sharing": "shared", "length": 64}, entry
        if entry["event"] in ("sc_counter_update", "sc_compare"):
            assert entry["attrs"]["bits"] == 7, entry
    private = neuroemu.map(lrn_net, Stochastic(length=64, sharing="private")).stages[1]
    assert private.generator_attrs["sharing"] == "private"
    other = Ledger()
    with recording(sc, other):  # every stage records into the ledger it is given
        sc(images)
    assert other + other == sc.ledger  # the pipeline's own ledger: two passes over the same images


def test_segment_decodes_its_streams_whatever_the_block_size(lrn_net, images):
    spec = Stochastic(length=64)
    first = neuroemu.map(lrn_net, spec).stages[0]
    whole = neuroemu.map(lrn_net, Stochastic(length=64, cycle_budget=64 * 5)).stages[0]
    values = first(images)
    assert values.shape == (5, 6, 14, 14)
    assert torch.equal(values, whole(images))
    ones = (values + 1) / 2 * 64  # decoded from counts of ones: whole numbers
    assert torch.equal(ones, ones.round())


def test_lrn_network_is_priced_but_for_its_pseudo_random_draws(lrn_net, images):
    report = measure("stochastic", lrn_net, images[:1], length=32).report
    assert {(u["event"], u["layer"], u["attrs"]["sng"]) for u in report.unpriced} == {
        ("sc_sng_draw", "lrn1", "random"), ("sc_rng_step", "lrn1", "random")}
    assert report.per_layer_j["lrn1"] > 0


def test_analytic_mode_runs_the_same_segments(lrn_net, images):
    sc = neuroemu.map(lrn_net, Stochastic(length=256, mode="analytic"))
    assert isinstance(sc, SCPipeline) and sc(images).shape == (5, 10)


def test_lrn_after_a_linear_layer_is_refused():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Tanh(), nn.LocalResponseNorm(5),
                          nn.Linear(10, 3))
    with pytest.raises(ValueError, match="after a convolution"):
        neuroemu.map(model, Stochastic(length=16))
