"""Terminal and file output: plain-text tables that line up in any terminal, and sweep plots (PNG)."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return ``rows`` under ``headers`` as an aligned text table (numbers right-, text left-aligned)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def format_time(seconds: float) -> str:
    """A duration in the largest unit that fits: ``1y``, ``1d``, ``1h``, ``30min``, ``1s``."""
    for unit, size in (("y", 365.25 * 86400), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def plot_accuracy_sweep(xs: Sequence[float], accuracies: Sequence[float], *, float_accuracy: float,
                        xlabel: str, label: str, title: str, path: Path) -> None:
    """A PNG of accuracy (fractions, shown in %) against a swept length on a log2 axis, with the float
    model's accuracy as a dashed line."""
    # local: matplotlib (pyplot above all) is a heavy import that only plotting needs, while every command
    # imports this module for its tables; the Agg backend must be chosen before pyplot is imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(list(xs), [100 * a for a in accuracies], marker="o", label=label)
    ax.axhline(100 * float_accuracy, color="gray", linestyle="--", label="float model")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_energy_breakdown(report: Any, path: Path, title: str) -> None:
    """A PNG of stacked bars: the energy per inference of each layer of a priced ledger
    (:class:`neuroemu.cost.EnergyReport`), stacked by component."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = list(report.per_layer_j)
    components = sorted(report.breakdown_j, key=lambda c: -report.breakdown_j[c])
    table = {c: [0.0] * len(layers) for c in components}
    for line in report.lines:
        index = layers.index(line["layer"] if line["layer"] is not None else "-")
        for component, joules in line["components_j"].items():
            table[component][index] += joules / report.images
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(layers) + 2), 4))
    bottom = [0.0] * len(layers)
    for component in components:
        ax.bar(layers, table[component], bottom=bottom, label=component)
        bottom = [b + v for b, v in zip(bottom, table[component], strict=True)]
    ax.set_ylabel("energy per inference (J)")
    ax.set_title(f"{title}: {report.per_inference_j:.3g} J / inference")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
