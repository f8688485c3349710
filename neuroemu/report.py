"""Terminal and file output: plain-text tables that line up in any terminal, and sweep plots (PNG)."""

from collections.abc import Sequence
from pathlib import Path


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
