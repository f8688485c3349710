"""The ``neuroemu energy`` command: JSON shape, exit codes, unpriced warning, plot, ADC sweep."""

import dataclasses
import json

import pytest
from torch import nn

from neuroemu import substrates
from neuroemu.cards import load_card
from neuroemu.cli import main
from neuroemu.ledger import RecordsEvents
from neuroemu.registration import Registration

LENET5_MACS = 416_520
KEYS = {"model", "substrate", "energy_per_inference_j", "breakdown_j", "per_layer_j", "latency_s", "area_m2",
        "cards"}


def run_json(capsys, *args):
    assert main(["energy", "--model", "lenet5-mnist", "--images", "2", "--json", *args]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err


def test_digital_json(capsys, data_root):
    result, err = run_json(capsys, "--substrate", "digital", "--bits", "8")
    assert set(result) >= KEYS and err == ""
    mac = load_card("mult-int8-horowitz-45nm").energy + load_card("add-int8-horowitz-45nm").energy
    assert result["energy_per_inference_j"] == pytest.approx(LENET5_MACS * mac, rel=1e-12)
    assert sum(result["breakdown_j"].values()) == pytest.approx(result["energy_per_inference_j"], rel=1e-12)
    assert set(result["per_layer_j"]) == {"conv1", "conv2", "fc1", "fc2", "fc3"}
    assert result["latency_s"] is None and result["area_m2"] is None
    assert result["cards"] == ["add-int8-horowitz-45nm", "mult-int8-horowitz-45nm"]


def test_table_and_plot(capsys, data_root, tmp_path):
    path = tmp_path / "energy.png"
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "digital", "--images", "1",
                 "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert "J per inference" in out and "mult" in out and "conv2" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_crossbar_sweep_json(capsys, data_root):
    result, _ = run_json(capsys, "--substrate", "crossbar", "--device", "ideal", "--calibration-images", "4",
                         "--sweep-adc-bits", "7-8")
    assert {"cell_read", "adc", "dac"} <= set(result["breakdown_j"])
    assert "ideal" in result["cards"] and "adc-sar-isaac-8b" in result["cards"]
    sweep = result["adc_sweep"]
    assert [r["adc_bits"] for r in sweep] == [7, 8]
    assert sweep[0]["energy_per_inference_j"] < sweep[1]["energy_per_inference_j"]
    assert sweep[1]["energy_per_inference_j"] == pytest.approx(result["energy_per_inference_j"], rel=1e-9)
    assert 0 < sweep[0]["adc_share"] < sweep[1]["adc_share"] < 1
    assert all(r["adc_column_read_share"] == 0 for r in sweep)  # a Walden card has no column term


def test_crossbar_sweep_with_neurosim_column_adc(capsys, data_root):
    result, _ = run_json(capsys, "--substrate", "crossbar", "--device", "rram-wan2022",
                         "--calibration-images", "2", "--sweep-adc-bits", "7-8",
                         "--card", "adc=adc-sar-neurosim-7nm-lp")
    assert result["area_m2"] is None and "adc-sar-neurosim-7nm-lp" in result["cards"]
    total = result["energy_per_inference_j"]
    last = result["adc_sweep"][-1]
    column = result["breakdown_j"]["adc_column_read"] / total
    assert last["adc_column_read_share"] == pytest.approx(column, rel=1e-9)
    assert last["adc_share"] == pytest.approx(column + result["breakdown_j"]["adc"] / total, rel=1e-9)
    assert main(["energy", "--model", "lenet5-mnist", "--images", "1", "--substrate", "crossbar",
                 "--calibration-images", "1", "--sweep-adc-bits", "6-7",
                 "--card", "adc=adc-sar-neurosim-7nm-lp"]) == 0
    out = capsys.readouterr().out
    assert "of it column read %" in out and "area: n/a" in out


def test_spiking_json_and_core_card(capsys, data_root):
    result, _ = run_json(capsys, "--substrate", "spiking", "--timesteps", "4", "--calibration-images", "8")
    assert set(result) >= KEYS and result["cards"] == ["loihi-davies2018"]
    assert set(result["breakdown_j"]) == {"synapse", "neuron", "routing"}
    assert result["latency_s"] is None and result["options"]["encoding"] == "constant"
    result, err = run_json(capsys, "--substrate", "spiking", "--timesteps", "4", "--calibration-images", "8",
                           "--card", "spiking=truenorth-merolla2014")
    assert result["cards"] == ["truenorth-merolla2014"] and "NOT in the total" in err


@pytest.mark.parametrize("args,message", [
    (["--substrate", "quantum"], "available substrates: digital, lowbit, crossbar"),
    (["--substrate", "digital", "--card", "adc=no-such-card"], "no-such-card"),
    (["--substrate", "digital", "--card", "oops"], "ROLE=NAME"),
    (["--substrate", "crossbar", "--device", "no-such-device"], "no-such-device"),
    (["--substrate", "digital", "--sweep-adc-bits", "4-10"],
     "applies to substrates with ADCs (crossbar, spiking)"),
    (["--substrate", "spiking", "--sweep-adc-bits", "4-10"], "adc_bits describes crossbar synapses"),
    (["--substrate", "spiking", "--card", "spiking=adc-sar-isaac-8b"], "spiking_core"),
    (["--substrate", "spiking", "--timesteps", "0"], "timesteps must be an integer >= 1"),
])
def test_usage_errors_exit_2(capsys, data_root, args, message):
    assert main(["energy", "--model", "lenet5-mnist", "--images", "1", *args]) == 2
    assert message in capsys.readouterr().err


def test_unknown_model_exits_2(capsys):
    assert main(["energy", "--model", "no-such-net", "--substrate", "digital"]) == 2
    assert "no-such-net" in capsys.readouterr().err


class Spiky(RecordsEvents, nn.Module):
    """A chip that records an event no card prices."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        if self.ledger is not None:
            self.ledger.record("spike", 7, layer="fc1")
        return self.model(x)


@dataclasses.dataclass(frozen=True)
class SpikySpec:
    def apply(self, model: nn.Module) -> nn.Module:
        return Spiky(model)


def test_unpriced_events_warn(capsys, data_root):
    """An event with no price rule is listed and warned about, never priced at zero."""
    substrates.register(Registration(name="spiky", spec=SpikySpec, summary="records an unpriced event"))
    try:
        result, err = run_json(capsys, "--substrate", "spiky")
    finally:
        substrates.unregister("spiky")
    assert "warning" in err and "spike" in err and "NOT in the total" in err
    assert result["unpriced"] == [{"event": "spike", "layer": "fc1", "attrs": {}, "count": 7}]


def test_crossbar_latency_and_area_in_json(capsys, data_root):
    result, _ = run_json(capsys, "--substrate", "crossbar", "--device", "ideal", "--calibration-images", "4",
                         "--columns-per-adc", "64")
    assert result["latency_s"] > 0 and result["area_m2"] > 0
    assert result["options"]["columns_per_adc"] == 64
    assert sum(result["area_breakdown_m2"].values()) == pytest.approx(result["area_m2"], rel=1e-12)
    assert [row["layer"] for row in result["floorplan_layers"]] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    # the ideal card gives no write energy: programming is reported as not priced, never as zero
    assert result["programming_j"] is None
    assert set(result["programming"]["unpriced"]) == {"conv1", "conv2", "fc1", "fc2", "fc3"}


def test_save_and_reprice_without_running(capsys, data_root, tmp_path):
    saved = tmp_path / "run.json"
    first, _ = run_json(capsys, "--substrate", "crossbar", "--device", "ideal", "--calibration-images", "4",
                        "--save-ledger", str(saved))
    assert main(["energy", "--from-ledger", str(saved), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["model"] == "lenet5-mnist" and again["substrate"] == "crossbar"
    assert again["energy_per_inference_j"] == pytest.approx(first["energy_per_inference_j"], rel=1e-12)
    assert again["breakdown_j"] == pytest.approx(first["breakdown_j"], rel=1e-12)
    assert again["latency_s"] is None
    assert main(["energy", "--from-ledger", str(saved), "--accumulator-bits", "32", "--json"]) == 0
    wider = json.loads(capsys.readouterr().out)
    for component, joules in first["breakdown_j"].items():
        if component == "add":
            assert wider["breakdown_j"]["add"] > joules
        else:
            assert wider["breakdown_j"][component] == pytest.approx(joules, rel=1e-12)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert main(["energy", "--from-ledger", str(bad)]) == 2
    assert "not a saved neuroemu energy run" in capsys.readouterr().err


def test_model_and_substrate_required_without_saved_run(capsys):
    assert main(["energy", "--substrate", "digital"]) == 2
    assert "--model and --substrate are required" in capsys.readouterr().err


def test_digital_weight_memory_option(capsys, data_root):
    result, _ = run_json(capsys, "--substrate", "digital", "--weight-memory", "sram-8kb-horowitz-45nm")
    assert result["breakdown_j"]["memory"] > 0 and "sram-8kb-horowitz-45nm" in result["cards"]
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "digital", "--weight-memory",
                 "sa-isaac"]) == 2
    assert "memory" in capsys.readouterr().err
