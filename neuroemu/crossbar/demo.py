"""The crossbar's section of ``neuroemu demo``: a short Monte Carlo on every built-in device card."""

from __future__ import annotations

from neuroemu.cards import list_cards
from neuroemu.crossbar.montecarlo import monte_carlo
from neuroemu.crossbar.spec import default_slicing
from neuroemu.devices import MODELS
from neuroemu.report import format_table, format_time

__all__ = ["demo_table"]


def demo_table(limit: int | None = 1000, *, model: str = "lenet5-mnist", trials: int = 5,
               times: tuple[float, ...] = (1.0, 86400.0, 365.25 * 86400.0), seed: int = 0,
               calibration_images: int = 256) -> str:
    """A short crossbar Monte Carlo of ``model`` on every built-in device card, as a text table.

    ``limit``: test images (``None``: all). Each device runs with 8-bit DAC/ADC, 256×256 arrays (8×1-bit
    slices for a binary device) and global drift compensation off and on; meant for ``neuroemu demo``.
    """
    rows = []
    fp = None
    for card in list_cards():
        if card.kind not in MODELS:
            continue
        slicing = default_slicing(card)
        result = monte_carlo(model, card.name, trials=trials, times=times, compensation=(False, True),
                             seed=seed, limit=limit, array=(256, 256), dac_bits=8, adc_bits=8,
                             slicing=slicing, calibration_images=calibration_images)
        fp = result["fp_accuracy"]
        for point in result["points"]:
            comp = "on" if point["drift_compensation"] else "off"
            rows.append([card.name, format_time(point["time_s"]), comp, f"{100 * point['mean']:.2f}",
                         f"{100 * point['std']:.2f}"])
    head = (f"Crossbar Monte Carlo: {model}, {trials} chips per device, 8-bit DAC/ADC, 256x256 arrays"
            + (f"; float accuracy {100 * fp:.2f} %" if fp is not None else ""))
    return head + "\n\n" + format_table(["device", "time", "drift comp.", "mean %", "std %"], rows)
