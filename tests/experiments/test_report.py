"""The report of a results file (``neuroemu.experiments.report``) on synthetic records: the Pareto front on
hand-worked cases, report.md's tables, captions and links, the PNGs, skipped plots, empty and all-failed
input, ordering, and replacing an earlier report."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from neuroemu.experiments.point import Point, finished_record
from neuroemu.experiments.report import ReportError, pareto_front, write_report
from neuroemu.experiments.store import ResultStore
from neuroemu.nets import summarize
from neuroemu.report import format_si

PNG = b"\x89PNG\r\n\x1a\n"


def record(substrate: str, axes: dict[str, Any], *, spec: dict[str, Any] | None = None,
           per_trial: list[float] | None = None, model: str = "lenet5-mnist", n_images: int = 100,
           fp: float = 0.99, breakdown: dict[str, float] | None = None, latency: float | None = None,
           error: str | None = None, experiment: str = "synthetic") -> dict[str, Any]:
    """One line of results.jsonl: ``spec`` defaults to ``axes`` (the grid values are spec fields)."""
    config = {"experiment": experiment, "substrate": substrate, "model": model, "model_sha256": "0" * 64,
              "dataset": "mnist", "limit": n_images, "calibration_images": 16, "repeats": 1,
              "spec": dict(axes if spec is None else spec),
              "pricing": {"accumulator_bits": 16, "multiplier_bits": 8, "cards": {}, "paths": []}}
    if error is not None:
        return finished_record(Point(config, axes), None, error)
    per_trial = per_trial or [0.9]
    breakdown = breakdown or {"mult": 1e-7, "add": 1e-8}
    result = {"accuracy": {"per_trial": per_trial, **summarize(per_trial), "n_images": n_images,
                           "fp_accuracy": fp},
              "energy": {"per_inference_j": sum(breakdown.values()), "breakdown_j": breakdown,
                         "per_layer_j": {}, "cards": [], "unpriced": [], "inferences": n_images,
                         "latency_s": latency, "area_m2": None},
              "ledger": {"totals": {}, "entries": []}, "calibration": None}
    return finished_record(Point(config, axes), {"result": result, "wall_s": 0.1}, None)


def study() -> list[dict[str, Any]]:
    """A small study over every substrate: digital bit widths (one trial), crossbar Monte Carlo (devices ×
    read times × drift compensation, 4 chips), SC bitstream lengths for two blocks (one trial), spiking time
    steps (3 repeats), and one failed point."""
    records = [record("digital", {"bits": b}, breakdown={"mult": m, "add": 1e-8}, per_trial=[a])
               for b, m, a in ((8, 8e-8, 0.985), (32, 1.3e-6, 0.99))]
    for device, energy in (("rram-wan2022", 1.2e-7), ("pcm-joshi2020", 1.5e-7)):
        for time, seconds in (("1s", 1.0), ("1d", 86400.0), ("1y", 31557600.0)):
            for drift in (False, True):
                loss = 0.0 if drift else {1.0: 0.0, 86400.0: 0.02, 31557600.0: 0.08}[seconds]
                trials = [0.98 - loss - 0.01 * k for k in range(4)]
                axes = {"device": device, "time": time, "drift_compensation": drift}
                records.append(record("crossbar", axes,
                                      spec={"device": device, "time": seconds, "drift_compensation": drift,
                                            "trials": 4},
                                      per_trial=trials, latency=7e-4,
                                      breakdown={"dac": energy, "adc": 1e-8, "cell_read": 2e-9}))
    for block in ("apc-max-btanh", "apc-avg-btanh"):
        for length, acc in ((16, 0.3), (64, 0.7), (256, 0.95)):
            records.append(record("stochastic", {"length": length, "block": block}, model="lenet5-mnist-tanh",
                                  per_trial=[acc - (0.05 if block == "apc-avg-btanh" else 0.0)], fp=0.991,
                                  latency=length * 2.5e-9,
                                  breakdown={"sc_multiply": length * 8e-9, "sng": length * 2e-9}))
    for steps, acc in ((8, 0.95), (32, 0.985)):
        records.append(record("spiking", {"timesteps": steps}, per_trial=[acc, acc - 0.01, acc + 0.005],
                              breakdown={"synapse": steps * 1.2e-6, "neuron": steps * 4e-7}))
    records.append(record("crossbar", {"device": "nope", "time": "1s", "drift_compensation": False},
                          error="UnknownCardError: no card 'nope' | known: rram-wan2022"))
    return records


def links(text: str) -> list[str]:
    return [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("report")
    path = write_report(study(), out / "nested" / "rep")
    return path, path.read_text()


# ---- the Pareto front -----------------------------------------------------------------------------------

def test_pareto_front_hand_worked():
    points = [(1.0, 0.90, "A"), (2.0, 0.95, "B"), (2.0, 0.93, "C"),  # C: same energy as B, less accurate
              (3.0, 0.95, "D"),  # D: as accurate as B, more energy
              (0.5, 0.80, "E"), (2.0, 0.95, "F"),  # F ties B exactly: neither dominates the other
              (4.0, 0.99, "G"), (5.0, 0.98, "H")]  # H: dominated by G
    assert [p[2] for p in pareto_front(points)] == ["E", "A", "B", "F", "G"]
    assert [p[2] for p in pareto_front(points[::-1])] == ["E", "A", "F", "B", "G"]  # ties keep input order


def test_pareto_front_small_cases():
    assert pareto_front([]) == []
    assert pareto_front([(3e-7, 0.5, None)]) == [(3e-7, 0.5, None)]
    # a point both cheaper and more accurate than all others is the whole front
    assert pareto_front([(2.0, 0.5, 1), (1.0, 0.9, 2), (3.0, 0.8, 3)]) == [(1.0, 0.9, 2)]
    # a staircase: every point is on it
    stairs = [(1.0, 0.1, "a"), (2.0, 0.2, "b"), (3.0, 0.3, "c")]
    assert pareto_front(stairs[::-1]) == stairs


def test_pareto_front_refuses_nan():
    with pytest.raises(ValueError, match=r"point 1 .*finite"):
        pareto_front([(1.0, 0.5, 0), (math.nan, 0.5, 1)])


# ---- report.md and its plots ----------------------------------------------------------------------------

def test_records_are_schema_valid(tmp_path):
    store = ResultStore(tmp_path / "results.jsonl")
    with store.writing():
        for r in study():
            store.append(r)
    assert len(store.records()) == len(study())
    assert write_report(list(store.records().values()), tmp_path / "r").read_text() == \
        write_report(study(), tmp_path / "s").read_text()


def test_report_pngs_exist_and_are_linked(report):
    path, text = report
    names = links(text)
    assert names == ["accuracy-vs-energy-lenet5-mnist.png", "accuracy-vs-energy-lenet5-mnist-tanh.png",
                     "accuracy-vs-length.png", "accuracy-vs-timesteps.png", "monte-carlo.png",
                     "energy-breakdown.png"]
    for name in names:
        assert (path.parent / name).read_bytes()[:8] == PNG
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([*names, "report.md"])
    assert "## Plots not made" not in text


def test_report_tables(report):
    _, text = report
    assert text.startswith("# Report: synthetic\n")
    assert "23 points: 22 ok, 1 failed." in text
    for substrate in ("digital", "crossbar", "stochastic", "spiking"):
        assert f"### {substrate}\n" in text
    assert "| # | bits | model | accuracy (%) | spread | images | energy / inference | latency |" in text
    # one trial: ± the binomial standard error sqrt(0.985 * 0.015 / 100) = 1.22 %
    assert "| #1 | 8 | lenet5-mnist | 98.50 ± 1.22 | binomial SE, 1 trial | 100 | 90 nJ | - |" in text
    # crossbar: drift off at 1 y (sorted by device, then drift compensation, then read time)
    crossbar = summarize([0.90, 0.89, 0.88, 0.87])
    half = 100 * (crossbar["ci95"][1] - crossbar["ci95"][0]) / 2
    assert (f"| #6 | pcm-joshi2020 | false | 1y | lenet5-mnist | 88.50 ± {half:.2f} | 95 % CI, 4 trials | "
            "100 | 162 nJ | 700 µs |") in text
    assert ("| #16 | apc-avg-btanh | 16 | lenet5-mnist-tanh | 25.00 ± 4.33 | binomial SE, 1 trial | 100 | "
            "160 nJ | 40 ns |") in text


def test_report_failed_points_table(report):
    _, text = report
    assert "## Failed points\n\n1 point(s) failed" in text
    assert ("| #3 | crossbar | lenet5-mnist | device=nope, drift_compensation=false, time=1s | "
            "UnknownCardError: no card 'nope' \\| known: rram-wan2022 |") in text


def test_report_pareto_tables(report):
    _, text = report
    assert "Pareto front of `lenet5-mnist`:" in text
    fronts = text.split("Pareto front of `")
    mnist, tanh = fronts[1], fronts[2]
    assert "| 1 | #1 | digital | lenet5-mnist | bits=8 | 98.50 ± 1.22 | 90 nJ |" in mnist
    assert "| 2 | #2 | digital | lenet5-mnist | bits=32 |" in mnist
    assert "| 3 |" not in mnist.split("\n\n![")[0]
    tanh = tanh.split("\n\n## ")[0]
    assert [line.split(" | ")[1] for line in tanh.splitlines() if line.startswith("| ") and "#" in line
            and "front" not in line] == ["#19", "#20", "#21"]  # max-btanh beats avg-btanh at every length


def test_report_captions_say_which_spread(report):
    _, text = report
    length = text.split("### Accuracy vs bitstream length")[1].split("###")[0]
    assert "± the binomial standard error sqrt(p(1 - p)/n)" in length and "Student-t" not in length
    assert "block=apc-avg-btanh" not in length  # the legend is in the PNG; the caption names the points
    steps = text.split("### Accuracy vs time steps")[1].split("###")[0]
    assert "Student-t 95 % confidence interval over its trials" in steps and "binomial" not in steps
    key = text.split("## Accuracy vs energy")[1].split("Pareto front of")[0]
    assert "where a point has several trials, else ± the binomial" in key
    assert "The axis is logarithmic" in text.split("### Energy breakdown")[1]
    assert "4 chip instances (trials) each" in text


def test_report_order_does_not_depend_on_the_input(tmp_path):
    records = study()
    first = write_report(records, tmp_path / "a").read_text()
    assert write_report(records[::-1], tmp_path / "b").read_text() == first
    assert write_report(records[5:] + records[:5], tmp_path / "c").read_text() == first


def test_skipped_plots_say_why(tmp_path):
    records = [record("digital", {"bits": 8}, per_trial=[0.9]),
               record("crossbar", {"time": "1s"}, spec={"device": "rram-wan2022", "time": 1.0, "trials": 1})]
    text = write_report(records, tmp_path).read_text()
    assert links(text) == ["accuracy-vs-energy-lenet5-mnist.png", "energy-breakdown.png"]
    skipped = text.split("## Plots not made\n\n")[1]
    assert ("- **Accuracy vs bitstream length**: no points that differ only in spec `length` (0 point(s)"
            in skipped)
    assert "- **Accuracy vs time steps**: no points that differ only in spec `timesteps`" in skipped
    assert "- **Monte Carlo accuracy distributions**: no points with a `device` and a read `time` that ran " \
           "several trials" in skipped
    # two points within a decade: a linear energy axis
    assert "logarithmic" not in text


def test_a_single_value_is_no_sweep(tmp_path):
    records = [record("stochastic", {"length": 64}, model="lenet5-mnist-tanh")]
    text = write_report(records, tmp_path).read_text()
    assert "**Accuracy vs bitstream length**: no points that differ only in spec `length` (1 point(s) have" \
        in text


def test_empty_input(tmp_path):
    path = write_report([], tmp_path / "empty")
    text = path.read_text()
    assert "The results file holds no points: there is nothing to report." in text
    assert links(text) == [] and list(path.parent.glob("*.png")) == []
    assert "- **Accuracy vs energy**: no points." in text
    assert "- **Energy breakdown**: no points." in text


def test_all_failed_input(tmp_path):
    records = [record("digital", {"bits": b}, error=f"RuntimeError: boom {b}") for b in (8, 4)]
    text = write_report(records, tmp_path).read_text()
    assert "All 2 points failed: there is no accuracy or energy to show" in text
    assert "| #1 | digital | lenet5-mnist | bits=4 | RuntimeError: boom 4 |" in text
    assert "- **Accuracy vs energy**: no successful points." in text
    assert links(text) == [] and list(tmp_path.glob("*.png")) == []


def test_report_replaces_an_earlier_one(tmp_path):
    write_report(study(), tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    path = write_report([record("digital", {"bits": 8})], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "accuracy-vs-energy-lenet5-mnist.png", "energy-breakdown.png", "notes.txt", "report.md"]
    assert "### crossbar" not in path.read_text()


def test_a_record_without_a_needed_field_is_refused(tmp_path):
    broken = record("digital", {"bits": 8})
    del broken["result"]["energy"]["breakdown_j"]
    with pytest.raises(ReportError, match=rf"result {broken['hash']}: no field result.energy.breakdown_j"):
        write_report([broken], tmp_path)
    assert not (tmp_path / "report.md").exists()


def test_unpriced_events_are_named(tmp_path):
    r = record("digital", {"bits": 8})
    r["result"]["energy"]["unpriced"] = [{"event": "mystery", "layer": "fc1", "attrs": {}, "count": 3}]
    assert "events no price rule covers (mystery) at #1" in write_report([r], tmp_path).read_text()


@pytest.mark.parametrize("value,text", [(9.58e-08, "95.8 nJ"), (1.3e-6, "1.3 µJ"), (7.096e-4, "710 µJ"),
                                        (0.99996e-6, "1 µJ"), (2.0, "2 J"), (None, "-"), (0.0, "0 J")])
def test_format_si(value: Any, text: str):
    assert format_si(value, "J") == text
