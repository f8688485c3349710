"""Map the shipped LeNet-5 onto analog crossbar arrays with the Python API, read the chips at several times
after programming, and price the energy of one inference.

What it shows:
  1. ``neuroemu.map(model, Crossbar(...))`` replaces every Conv2d / Linear with crossbar layers; ``trials``
     independent chips are programmed at once (device-to-device variation differs from chip to chip).
  2. ``neuroemu.crossbar.calibrate`` fixes the DAC / ADC ranges on a few *training* images (never test ones).
  3. ``neuroemu.crossbar.set_time`` reads the same programmed chips t seconds later (drift, fresh read noise),
     with or without global drift compensation.
  4. ``neuroemu.ledger.recording`` counts the hardware events of a forward pass (MVMs, cell reads, ADC and
     DAC conversions, ...) in a ledger.
  5. ``neuroemu.experiments.energy.measure`` runs the model again while a ledger records and prices it with
     the circuit cards (ADC, DAC, cell reads, digital adds): joules per inference and where they go.

What to expect (defaults, PCM): the float network scores about 99 % on the first 500 test images; the chips
stay within a point or two of it at 1 s and lose more with time without drift compensation (PCM drift), far
less with it (about 97 % against 99 % after a year). The energy is about 1.5e-7 J per inference, most of it
in the 8-bit input DACs, then the cell reads and the ADCs.

How long: about 20 s on 2 cores with the defaults (500 images, 10 chips, 4 read times); ``--limit 50
--trials 2`` runs in a few seconds.

What to change: ``--device`` (any card name or path: rram-wan2022, pcm-joshi2020, sttram-pmtj (a two-level
device: weights are bit-sliced over 8 one-bit cells), or your own card, see my-rram.toml), the converter
resolutions ``--dac-bits`` / ``--adc-bits``, the array size, ``TIMES`` below.

    python examples/crossbar_python_api.py [--device pcm-joshi2020] [--limit 500] [--trials 10]
"""

from __future__ import annotations

import argparse

import torch

import neuroemu
from neuroemu.crossbar import Crossbar, calibrate, set_time
from neuroemu.crossbar.spec import default_slicing
from neuroemu.data import load_tensors
from neuroemu.experiments.energy import measure
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import load_checkpoint

#: read times in seconds after programming (1 s, 1 hour, 1 day, 1 year)
TIMES = (1.0, 3600.0, 86400.0, 365.25 * 86400.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5-mnist", help="shipped model name or .pt checkpoint")
    parser.add_argument("--device", default="pcm-joshi2020", help="device card name or path")
    parser.add_argument("--limit", type=int, default=500, help="test images")
    parser.add_argument("--trials", type=int, default=10, help="chip instances programmed at once")
    parser.add_argument("--dac-bits", type=int, default=8)
    parser.add_argument("--adc-bits", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    checkpoint = load_checkpoint(args.model)
    dataset, normalize = checkpoint.dataset, checkpoint.normalize  # what the model was trained on
    images, labels = load_tensors(dataset, "test", normalize=normalize, limit=args.limit)
    calibration, _ = load_tensors(dataset, "train", normalize=normalize, limit=64)
    with torch.inference_mode():
        fp = (checkpoint.build()(images).argmax(-1) == labels).double().mean().item()
    print(f"{args.model}: float accuracy {100 * fp:.2f} % on {len(images)} test images")

    # default_slicing: None, or 8 one-bit cells per weight on a two-level device such as sttram-pmtj
    spec = Crossbar(device=args.device, array=(256, 256), dac_bits=args.dac_bits, adc_bits=args.adc_bits,
                    slicing=default_slicing(args.device), trials=args.trials, seed=args.seed)
    chip = neuroemu.map(checkpoint.build(), spec)
    calibrate(chip, calibration)

    print(f"{'time':>10}  {'drift comp.':>11}  {'accuracy % (mean ± std over chips)':>34}")
    ledger = Ledger()
    for compensate in (False, True):
        for t in TIMES:
            set_time(chip, t, drift_compensation=compensate)
            with torch.inference_mode(), recording(chip, ledger):
                logits = chip(images)                     # (trials, images, classes)
            per_chip = (logits.argmax(-1) == labels).double().mean(-1)
            mean, std = 100 * per_chip.mean(), 100 * per_chip.std()
            print(f"{t:>10.3g}  {compensate!s:>11}  {mean:>25.2f} ± {std:.2f}")
    print(f"ledger: {ledger.count('crossbar_mvm')} array MVMs, {ledger.count('adc_conversion')} ADC "
          f"conversions over {len(TIMES) * 2} reads of {args.trials} chips x {len(images)} images")

    # Energy: measure() maps, calibrates, runs and prices in one call (read at t = 0, the spec's time).
    energy = measure("crossbar", checkpoint.build(), images[:100], spec, calibration=calibration)
    report = energy.report
    print(f"energy: {report.per_inference_j:.3e} J per inference")
    for component, joules in sorted(report.breakdown_per_inference_j().items(), key=lambda kv: -kv[1]):
        print(f"  {component:<24} {joules:.3e} J")
    programming = energy.programming
    if programming is not None and programming.total_j is not None:
        print(f"programming the chip once: {programming.total_j:.3e} J (not per inference)")
    elif programming is not None:  # e.g. a card without a programming pulse (PCM)
        print(f"programming energy not priced: {next(iter(programming.unpriced.values()))}")


if __name__ == "__main__":
    main()
