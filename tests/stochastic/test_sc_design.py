"""Per-layer SC-DCNN designs (``Stochastic.blocks``): parsing, validation, mapping, pricing, the commands."""

from __future__ import annotations

import json

import pytest
import torch

import neuroemu
from neuroemu.cli import main
from neuroemu.cost.stochastic import layer_lengths
from neuroemu.experiments.experiment import ExperimentError, parse_experiment
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import load_model
from neuroemu.specs import SpecError
from neuroemu.stochastic import SCNetwork, Stochastic
from neuroemu.stochastic.design import LayerDesign, format_designs, parse_designs, resolve
from neuroemu.stochastic.pipeline import SCPipeline

LAYERS = ["conv1", "conv2", "fc1", "fc2", "fc3"]


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    return load_model("lenet5-mnist-tanh")


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(4))


def test_designs_are_read_and_kept_in_one_canonical_text():
    designs = parse_designs(" fc3 = mux-avg-stanh:length=256 ,conv1=states=64:apc-max-btanh")
    assert designs == {"fc3": LayerDesign("mux-avg-stanh", 256, None), "conv1": LayerDesign("apc-max-btanh",
                                                                                          None, 64)}
    text = format_designs(designs)
    assert text == "conv1=apc-max-btanh:states=64,fc3=mux-avg-stanh:length=256"
    assert parse_designs(text) == designs
    # the spec keeps the canonical text: the same design written twice is the same spec
    assert Stochastic(blocks="fc3=mux-avg-stanh, conv1=apc-max-btanh") == Stochastic(
        blocks="conv1=apc-max-btanh,fc3=mux-avg-stanh")
    assert Stochastic().blocks is None


@pytest.mark.parametrize(("text", "message"), [
    ("conv1=mux-max-tanh", r"block 'mux-max-tanh' of layer 'conv1' is not one of \['apc-max-btanh'"),
    ("conv1=length=0", r"length in 'conv1=length=0' must be an integer in 1\.\.1048576, got '0'"),
    ("conv1=length=2097152", r"must be an integer in 1\.\.1048576"),
    ("conv1=states=7", r"states in 'conv1=states=7' must be an even integer in 2\.\.65536"),
    ("conv1", r"entry 'conv1' is not LAYER=ITEM"),
    ("conv1=apc-max-btanh,conv1=mux-max-stanh", "layer 'conv1' is given twice"),
    ("conv1=apc-max-btanh:mux-max-stanh", "layer 'conv1' gives its block twice"),
    ("conv1=size=3", r"item 'size=3' of layer 'conv1' must be a block"),
    (",", "Stochastic.blocks must be comma-separated"),
])
def test_a_bad_design_is_refused_naming_the_field_and_the_allowed_values(text, message):
    with pytest.raises(SpecError, match=message) as caught:
        Stochastic(blocks=text)
    assert str(caught.value).startswith("Stochastic.blocks")


def test_layers_are_named_by_name_or_index():
    designs = parse_designs("1=mux-max-stanh,fc3=length=32")
    assert resolve(designs, LAYERS) == [LayerDesign(), LayerDesign("mux-max-stanh"), LayerDesign(),
                                        LayerDesign(), LayerDesign(length=32)]
    with pytest.raises(SpecError, match=r"no layer 'conv3'; its weighted layers are conv1, conv2, fc1, fc2, "
                                        r"fc3 \(or their indices 0\.\.4\)"):
        resolve(parse_designs("conv3=mux-max-stanh"), LAYERS)
    with pytest.raises(SpecError, match="no layer '5'"):
        resolve(parse_designs("5=mux-max-stanh"), LAYERS)
    with pytest.raises(SpecError, match="'conv2' is given twice"):
        resolve(parse_designs("1=mux-max-stanh,conv2=apc-max-btanh"), LAYERS)


def test_the_output_layer_takes_no_state_count(net):
    with pytest.raises(SpecError, match=r"layer fc3 has no activation .* states=K does not apply"):
        neuroemu.map(net, Stochastic(length=16, blocks="fc3=states=8"))


def test_each_layer_gets_its_block_and_state_count(net, images):
    uniform = neuroemu.map(net, Stochastic(length=32))
    same = neuroemu.map(net, Stochastic(length=32, blocks=",".join(f"{n}=apc-max-btanh" for n in LAYERS)))
    assert torch.equal(uniform(images), same(images))  # naming the default block changes nothing
    mixed = neuroemu.map(net, Stochastic(length=32, blocks="fc3=mux-avg-stanh,conv1=states=64"))
    assert isinstance(mixed, SCNetwork)
    assert [layer.adder for layer in mixed.layers] == ["apc", "apc", "apc", "apc", "mux"]
    assert mixed.layers[0].states == 64 and mixed.layers[1].states == uniform.layers[1].states
    ledger = Ledger()
    with recording(mixed, ledger):
        mixed(images)
    muxes = {e.layer for e in ledger.entries()  # inner-product MUXes (max pooling has 4-input ones)
             if e.event == "sc_gate_cycle" and e.attrs.get("gate") == "mux" and e.attrs["inputs"] > 4}
    counters = {e.layer for e in ledger.entries() if e.event == "sc_counter_op"}
    assert muxes == {"fc3"} and counters == {"conv1", "conv2", "fc1", "fc2"}
    fsm = {e.attrs["states"] for e in ledger.entries() if e.event == "sc_fsm_update" and e.layer == "conv1"}
    assert fsm == {64}


def test_a_length_change_starts_a_segment_at_a_binary_boundary(net, images):
    sc = neuroemu.map(net, Stochastic(length=32, blocks="fc1=length=16"))
    assert isinstance(sc, SCPipeline)
    assert [(s.length, [layer.name for layer in s.layers]) for s in sc.stages] == [
        (32, ["conv1", "conv2"]), (16, ["fc1"]), (32, ["fc2", "fc3"])]
    ledger = Ledger()
    with recording(sc, ledger):
        logits = sc(images)
    assert logits.shape == (3, 10) and torch.isfinite(logits).all()
    assert list(layer_lengths(ledger).items()) == [("conv1", 32), ("conv2", 32), ("fc1", 16), ("fc2", 32),
                                                   ("fc3", 32)]
    # conv2's and fc1's streams are counted back to binary, one counter per stream, over their lengths
    decode = {e.layer: e.count for e in ledger.entries() if e.attrs.get("purpose") == "decode"}
    assert decode == {"conv2": 3 * 16 * 5 * 5 * 32, "fc1": 3 * 120 * 16}
    # the next segment generates its inputs again: one comparator per value and cycle
    inputs = {e.layer: e.count for e in ledger.entries() if e.event == "sc_sng_draw"
              and e.attrs["operand"] == "input"}
    assert inputs == {"conv1": 3 * 32 * 32 * 32, "fc1": 3 * 400 * 16, "fc2": 3 * 120 * 32}
    # the analytic mode runs the same segments
    assert neuroemu.map(net, Stochastic(length=32, blocks="fc1=length=16", mode="analytic"))(images).shape \
        == (3, 10)


def test_mixed_lengths_are_floorplanned_segment_after_segment(net, images):
    from neuroemu.experiments.energy import measure

    one = measure("stochastic", net, images[:1], length=32)
    mixed = measure("stochastic", net, images[:1], length=32, blocks="fc1=length=16")
    clock = one.floorplan.latency_s / 32
    assert mixed.floorplan.latency_s == pytest.approx(clock * (32 + 16 + 32), rel=1e-12)
    assert set(mixed.report.per_layer_per_inference_j()) == set(LAYERS)


def test_sc_sweep_takes_blocks_and_refuses_a_bad_one(data_root, capsys):
    assert main(["sc-sweep", "--lengths", "16", "--limit", "2", "--blocks", "conv9=mux-max-stanh",
                 "--json"]) == 2
    err = capsys.readouterr().err
    assert "Stochastic.blocks: the model has no layer 'conv9'; its weighted layers are conv1" in err
    assert main(["sc-sweep", "--lengths", "16", "--limit", "2", "--blocks", "conv1=apc-max-tanh"]) == 2
    assert "is not one of ['apc-max-btanh', 'apc-avg-btanh', 'mux-max-stanh', 'mux-avg-stanh']" in \
        capsys.readouterr().err
    assert main(["sc-sweep", "--lengths", "16", "--limit", "2", "--blocks", "fc3=mux-avg-stanh",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["blocks"] == "fc3=mux-avg-stanh" and result["block"] == "apc-max-btanh"
    gates = [e for e in result["points"][0]["ledger"]["entries"]
             if e["attrs"].get("gate") == "mux" and e["attrs"]["inputs"] > 4]
    assert {e["layer"] for e in gates} == {"fc3"}


def test_the_design_is_part_of_a_points_resume_key_and_checked_in_experiment_files():
    def experiment(blocks: list[str]) -> list[str]:
        data = {"name": "designs", "limit": 2, "substrate": [
            {"name": "stochastic", "model": "lenet5-mnist-tanh", "length": 16, "blocks": blocks}]}
        return [p.hash for p in parse_experiment(data).points]

    hashes = experiment(["none", "fc3=mux-avg-stanh", "conv1=mux-max-stanh", "conv1=mux-max-stanh:length=32"])
    assert len(set(hashes)) == 4
    with pytest.raises(ExperimentError, match=r"blocks='conv7=mux-max-stanh'\): Stochastic.blocks: the model "
                                              r"has no layer 'conv7'"):
        experiment(["conv7=mux-max-stanh"])
