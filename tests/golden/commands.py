"""The fixed small configurations whose JSON output is kept as golden files (made before the spine refactor).

Each entry is (file stem, command-line arguments). ``tests/test_golden.py`` runs them and compares with
``tests/golden/<stem>.json``; ``python tests/golden/commands.py`` writes the files anew (only ever from a
version whose numbers are known to be right).
"""

from __future__ import annotations

ENERGY = ["energy", "--images", "4", "--calibration-images", "16", "--json"]

COMMANDS: list[tuple[str, list[str]]] = [
    ("mc-pcm", ["mc", "--model", "lenet5-mnist", "--device", "pcm-joshi2020", "--trials", "3", "--time",
                "1s,1y", "--drift-compensation", "--no-drift-compensation", "--limit", "64",
                "--dac-bits", "3", "--adc-bits", "4", "--calibration-images", "32", "--json"]),
    ("mc-rram-faulty", ["mc", "--model", "lenet5-mnist", "--device", "rram-wan2022-faulty", "--trials", "2",
                        "--time", "1d", "--limit", "64", "--calibration-images", "32", "--adc-noise", "0.5",
                        "--mapping", "reference", "--scaling", "layer", "--json"]),
    ("mc-sttram-ternary", ["mc", "--model", "lenet5-mnist-ternary", "--device", "sttram-pmtj", "--trials",
                           "2", "--time", "1s,1y", "--limit", "64", "--calibration-images", "32",
                           "--adc-noise", "0.5", "--json"]),
    ("mc-bit-serial", ["mc", "--model", "lenet5-mnist", "--device", "ideal", "--trials", "1", "--limit", "64",
                       "--input-mode", "bit_serial", "--dac-bits", "4", "--adc-bits", "6", "--array", "64x64",
                       "--slicing", "2x4", "--calibration-images", "32", "--json"]),
    ("sc-apc-max", ["sc-sweep", "--lengths", "16,64", "--block", "apc-max-btanh", "--limit", "8", "--json"]),
    ("sc-mux-avg-weighted", ["sc-sweep", "--lengths", "32", "--block", "mux-avg-stanh", "--mux-select",
                             "weighted", "--sng", "lfsr", "--limit", "8", "--json"]),
    ("sc-apc-approx-relu-twin", ["sc-sweep", "--model", "lenet5-mnist", "--lengths", "32", "--counter",
                                 "approximate", "--limit", "8", "--json"]),
    ("sc-lrn", ["sc-sweep", "--model", "lenet5-mnist-tanh-lrn", "--lengths", "32", "--limit", "4", "--json"]),
    ("snn-constant", ["snn-sweep", "--timesteps", "4,8", "--limit", "16", "--calibration-images", "32",
                      "--json"]),
    ("snn-poisson", ["snn-sweep", "--timesteps", "8", "--encoding", "poisson", "--reset", "zero", "--seed",
                     "3", "--percentile", "99", "--limit", "16", "--calibration-images", "32", "--json"]),
    ("energy-digital-8", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "digital"]),
    ("energy-digital-32-sram", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "digital", "--bits", "32",
                                "--weight-memory", "sram-32kb-horowitz-45nm"]),
    ("energy-lowbit-ternary", [*ENERGY, "--model", "lenet5-mnist-ternary", "--substrate", "lowbit"]),
    ("energy-lowbit-xnor", [*ENERGY, "--model", "lenet5-mnist-xnor", "--substrate", "lowbit"]),
    ("energy-crossbar-rram-sweep", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "crossbar",
                                    "--sweep-adc-bits", "6-8"]),
    ("energy-crossbar-pcm-column-adc", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "crossbar",
                                        "--device", "pcm-joshi2020", "--card", "adc=adc-sar-neurosim-7nm-lp",
                                        "--sweep-adc-bits", "5-6"]),
    ("energy-crossbar-sttram-bnn", [*ENERGY, "--model", "lenet5-mnist-bnn", "--substrate", "crossbar",
                                    "--device", "sttram-pmtj"]),
    ("energy-crossbar-bit-serial", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "crossbar",
                                    "--input-mode", "bit_serial", "--array", "128x128", "--dac-bits", "6",
                                    "--card", "adc=adc-flash-shu2012-6b", "--adc-bits", "6"]),
    ("energy-stochastic-shared", [*ENERGY, "--model", "lenet5-mnist-tanh", "--substrate", "stochastic",
                                  "--length", "64"]),
    ("energy-stochastic-private-mux", [*ENERGY, "--model", "lenet5-mnist-tanh-avg", "--substrate",
                                       "stochastic", "--length", "32", "--block", "mux-avg-stanh",
                                       "--sng-sharing", "private", "--mux-select", "weighted"]),
    ("energy-spiking-loihi", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "spiking", "--timesteps",
                              "8"]),
    ("energy-spiking-truenorth", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "spiking", "--timesteps",
                                  "4", "--encoding", "poisson", "--card", "spiking=truenorth-merolla2014"]),
]

#: saved runs priced again (--save-ledger then --from-ledger with other cards): (stem, run args, reprice args)
REPRICED: list[tuple[str, list[str], list[str]]] = [
    ("reprice-crossbar", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "crossbar"],
     ["--card", "adc=adc-sar-neurosim-45nm-lp", "--accumulator-bits", "32"]),
    ("reprice-stochastic", [*ENERGY, "--model", "lenet5-mnist-tanh", "--substrate", "stochastic", "--length",
                            "32"],
     ["--accumulator-bits", "24", "--card", "sc_rng=sc-sobol4-unarysim-40nm,sc-sobol10-unarysim-40nm"]),
    ("reprice-digital-dram", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "digital", "--weight-memory",
                              "dram-horowitz-45nm"], ["--multiplier-bits", "16"]),
    ("reprice-spiking", [*ENERGY, "--model", "lenet5-mnist", "--substrate", "spiking", "--timesteps", "4"],
     ["--card", "spiking=truenorth-merolla2014"]),
]

#: emulated logits of the first 8 test images through the Python API: (stem, model, substrate, spec fields);
#: converter ranges and neuron scales are calibrated on the first 32 training images
FINGERPRINTS: list[tuple[str, str, str, dict]] = [
    ("logits-crossbar-pcm", "lenet5-mnist", "crossbar",
     {"device": "pcm-joshi2020", "array": (128, 128), "dac_bits": 6, "adc_bits": 6, "trials": 2, "seed": 1,
      "time": 86400.0, "drift_compensation": True}),
    ("logits-crossbar-rram-faulty-reference", "lenet5-mnist", "crossbar",
     {"device": "rram-wan2022-faulty", "mapping": "reference", "scaling": "layer", "dac_bits": 8,
      "adc_bits": 8, "adc_noise": 0.3, "trials": 2, "weight_clip": 3.0}),
    ("logits-crossbar-sttram-bnn", "lenet5-mnist-bnn", "crossbar",
     {"device": "sttram-pmtj", "array": (256, 256), "dac_bits": 8, "adc_bits": 8, "trials": 2,
      "time": 3.0e7}),
    ("logits-crossbar-rram-sliced-fixed-range", "lenet5-mnist", "crossbar",
     {"device": "rram-wan2022", "array": (64, 32), "dac_bits": 5, "adc_bits": 7, "trials": 2,
      "slicing": (2, 3), "time": 3600.0, "dac_range": 1.5, "adc_range": 40.0}),
    ("logits-crossbar-bit-serial", "lenet5-mnist", "crossbar",
     {"device": "ideal", "array": (64, 64), "dac_bits": 4, "adc_bits": 6, "slicing": (2, 4),
      "input_mode": "bit_serial"}),
    ("logits-stochastic-apc-max", "lenet5-mnist-tanh", "stochastic", {"length": 32}),
    ("logits-stochastic-mux-weighted", "lenet5-mnist-tanh-avg", "stochastic",
     {"length": 64, "block": "mux-avg-stanh", "mux_select": "weighted", "sng": "halton"}),
    ("logits-stochastic-approximate", "lenet5-mnist-tanh", "stochastic",
     {"length": 32, "counter": "approximate", "sng": "lfsr", "seed": 5}),
    ("logits-stochastic-lrn", "lenet5-mnist-tanh-lrn", "stochastic", {"length": 32}),
    ("logits-stochastic-analytic", "lenet5-mnist-tanh", "stochastic", {"length": 64, "mode": "analytic"}),
    ("logits-spiking-constant", "lenet5-mnist", "spiking", {"timesteps": 16}),
    ("logits-spiking-poisson", "lenet5-mnist", "spiking",
     {"timesteps": 8, "encoding": "poisson", "reset": "zero", "seed": 2, "percentile": 99.0}),
    ("logits-lowbit-xnor", "lenet5-mnist-xnor", "lowbit", {}),
    ("logits-lowbit-ternary", "lenet5-mnist-ternary", "lowbit", {}),
]


def run_fingerprint(model_name: str, substrate: str, fields: dict) -> dict:
    """Logits of the first 8 test images of ``model_name`` on ``substrate`` (the Python API)."""
    import torch

    import neuroemu
    from neuroemu.data import load_tensors
    from neuroemu.nets import load_checkpoint

    checkpoint = load_checkpoint(model_name)
    images, _ = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize, limit=8)
    calibration, _ = load_tensors(checkpoint.dataset, "train", normalize=checkpoint.normalize, limit=32)
    if substrate == "crossbar":
        from neuroemu.crossbar import Crossbar, calibrate

        emulated = neuroemu.map(checkpoint.build(), Crossbar(**fields))
        calibrate(emulated, calibration)
    elif substrate == "stochastic":
        from neuroemu.stochastic import Stochastic

        emulated = neuroemu.map(checkpoint.build(), Stochastic(**fields))
    elif substrate == "spiking":
        from neuroemu.spiking import Spiking, calibrate

        emulated = neuroemu.map(checkpoint.build(), Spiking(**fields))
        calibrate(emulated, calibration)
    else:
        from neuroemu.lowbit import LowBit

        emulated = neuroemu.map(checkpoint.build(), LowBit(**fields))
    with torch.inference_mode():
        logits = emulated(images)
    return {"model": model_name, "substrate": substrate, "logits": logits.double().tolist()}


def run_cli(args: list[str]) -> dict:
    """Run ``neuroemu ARGS`` in this process and return its JSON output."""
    import contextlib
    import io
    import json
    import warnings

    from neuroemu.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = main(args)
    if status != 0:
        raise RuntimeError(f"neuroemu {' '.join(args)} exited {status}")
    return json.loads(out.getvalue())


def run_repriced(run_args: list[str], reprice_args: list[str], folder) -> dict:
    """Save a run's ledger, then price it again with other cards: the repriced JSON."""
    from pathlib import Path

    saved = Path(folder) / "saved.json"
    run_cli([*run_args, "--save-ledger", str(saved)])
    return run_cli(["energy", "--from-ledger", str(saved), *reprice_args, "--json"])


if __name__ == "__main__":
    import json
    import sys
    import tempfile
    from pathlib import Path

    here = Path(__file__).parent
    only = set(sys.argv[1:])
    for stem, args in COMMANDS:
        if not only or stem in only:
            (here / f"{stem}.json").write_text(json.dumps(run_cli(args), indent=1, sort_keys=True) + "\n")
            print("wrote", stem)
    for stem, model_name, substrate, fields in FINGERPRINTS:
        if not only or stem in only:
            result = run_fingerprint(model_name, substrate, fields)
            (here / f"{stem}.json").write_text(json.dumps(result, sort_keys=True) + "\n")
            print("wrote", stem)
    for stem, run_args, reprice_args in REPRICED:
        if not only or stem in only:
            with tempfile.TemporaryDirectory() as tmp:
                result = run_repriced(run_args, reprice_args, tmp)
            result.pop("repriced_from")
            (here / f"{stem}.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
            print("wrote", stem)
