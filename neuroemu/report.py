"""Terminal and file output: plain-text tables that line up in any terminal, and plots (PNG).

The plots take plain numbers (accuracies as fractions, shown in %; energies in J), so any caller can draw
them; :mod:`neuroemu.experiments.report` turns result records into them.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: (colour, marker) of the n-th series of a plot: matplotlib's default cycle, a marker each
STYLES = (("tab:blue", "o"), ("tab:orange", "s"), ("tab:green", "^"), ("tab:red", "D"), ("tab:purple", "v"),
          ("tab:brown", "P"), ("tab:pink", "X"), ("tab:gray", "<"), ("tab:olive", ">"), ("tab:cyan", "*"))


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


def format_si(value: float | None, unit: str, digits: int = 3) -> str:
    """``value`` (SI units) with a metric prefix and ``digits`` significant digits: ``95.8 nJ``, ``710 µs``;
    ``None``: ``-``."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    prefixes = {-18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G",
                12: "T"}
    exponent = min(max(3 * math.floor(math.log10(abs(value)) / 3), -18), 12)
    text = f"{value / 10 ** exponent:.{digits}g}"
    if abs(float(text)) >= 1000 and exponent < 12:  # 999.96 rounds up to the next prefix
        exponent += 3
        text = f"{value / 10 ** exponent:.{digits}g}"
    return f"{text} {prefixes[exponent]}{unit}"


@dataclass(frozen=True)
class Curve:
    """One line of an accuracy sweep: accuracies (fractions) at ``xs``, a band ``lows``..``highs`` around
    them, and the float model's accuracy they compare with (``None``: not known)."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    reference: float | None = None


@dataclass(frozen=True)
class TrialPanel:
    """One panel of box plots: ``trials[series][i]`` are the accuracies (fractions) of the trials at
    ``categories[i]`` (empty: no point there)."""

    title: str
    categories: tuple[str, ...]
    trials: Mapping[str, Sequence[Sequence[float]]]


@dataclass(frozen=True)
class Scatter:
    """One series of an accuracy-vs-energy plot: energies per inference (J), accuracies (fractions) and each
    accuracy's error bar ``lows``..``highs`` (fractions)."""

    label: str
    energies: tuple[float, ...]
    accuracies: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]


def _pyplot() -> Any:
    # local: matplotlib (pyplot above all) is a heavy import that only plotting needs; the Agg backend must
    # be chosen before pyplot is imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # bbox "tight" keeps legends placed outside the axes inside the picture
    fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)


def _percent(values: Sequence[float]) -> list[float]:
    return [min(100.0, max(0.0, 100 * v)) for v in values]


def _cap_percent(ax: Any) -> None:
    """Keep an accuracy axis within -1..101 %: nothing lies beyond 0-100 %."""
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -1.0), min(high, 101.0))


def _energy_ticks(axis: Any, log: bool) -> None:
    """Label an energy axis in J with metric prefixes (``200 nJ``); on a log axis spanning under two decades
    also label the minor ticks at 2 and 5 (else a narrow range would show one label or none)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: format_si(v, "J") if v > 0 or not log else ""))
    if not log:
        return
    ax = axis.axes
    low, high = ax.get_xlim() if axis is ax.xaxis else ax.get_ylim()  # autoscaled to the data by now
    if low > 0 and math.log10(high / low) < 2:
        def minor(value: float, _: Any) -> str:
            lead = round(value / 10 ** math.floor(math.log10(value) + 1e-9))
            return format_si(value, "J") if lead in (2, 5) else ""

        axis.set_minor_formatter(FuncFormatter(minor))
    else:
        axis.set_minor_formatter(NullFormatter())


def plot_accuracy_bands(curves: Sequence[Curve], *, xlabel: str, title: str, path: Path) -> None:
    """A PNG of accuracy (%) against a swept quantity on a log2 axis: one line per curve with its band
    shaded (clipped to 0-100 %), the float model's accuracy dashed (one grey line when all curves share it,
    else one in each curve's colour)."""
    plt = _pyplot()
    from matplotlib.ticker import NullLocator

    fig, ax = plt.subplots(figsize=(7, 4.2))
    references = {c.reference for c in curves if c.reference is not None}
    drawn: set[float] = set()
    for index, curve in enumerate(curves):
        colour, marker = STYLES[index % len(STYLES)]
        ax.plot(curve.xs, [100 * y for y in curve.ys], marker=marker, color=colour, label=curve.label)
        ax.fill_between(curve.xs, _percent(curve.lows), _percent(curve.highs), color=colour, alpha=0.18,
                        linewidth=0)
        if len(references) > 1 and curve.reference is not None and curve.reference not in drawn:
            drawn.add(curve.reference)  # in the colour of the first curve it belongs to
            ax.axhline(100 * curve.reference, color=colour, linestyle="--", linewidth=1,
                       label=f"float model: {100 * curve.reference:.2f} %")
    if len(references) == 1:
        (reference,) = references
        ax.axhline(100 * reference, color="gray", linestyle="--", linewidth=1,
                   label=f"float model: {100 * reference:.2f} %")
    ticks = sorted({x for c in curves for x in c.xs})
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, [f"{x:g}" for x in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    _cap_percent(ax)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize="small", frameon=False)
    _save(fig, path)


def plot_trial_boxes(panels: Sequence[TrialPanel], *, xlabel: str, title: str, path: Path) -> None:
    """A PNG of box plots of accuracy (%) over trials, one panel each (shared accuracy axis), the series
    side by side at each category, every trial drawn as a dot over its box."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    series = list(dict.fromkeys(s for panel in panels for s in panel.trials))
    widths = [max(2.6, 1.1 * len(p.categories) * max(1, len(series)) ** 0.5 + 1) for p in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(sum(widths) + 0.8, 4.2), sharey=True, squeeze=False,
                             gridspec_kw={"width_ratios": widths})
    step = 0.8 / max(1, len(series))
    for ax, panel in zip(axes[0], panels, strict=True):
        for s, name in enumerate(series):
            colour = STYLES[s % len(STYLES)][0]
            for i, values in enumerate(panel.trials.get(name, ())):
                if not values:
                    continue
                x = i + (s - (len(series) - 1) / 2) * step
                box = ax.boxplot([[100 * v for v in values]], positions=[x], widths=0.8 * step,
                                 patch_artist=True, showfliers=False, medianprops={"color": "black"})
                box["boxes"][0].set(facecolor=colour, alpha=0.35, edgecolor=colour)
                spread = [x + 0.5 * step * (k / max(1, len(values) - 1) - 0.5) for k in range(len(values))]
                ax.scatter(spread, [100 * v for v in values], s=10, color=colour, zorder=3)
        ax.set_xticks(range(len(panel.categories)), panel.categories)
        ax.set_xlim(-0.6, len(panel.categories) - 0.4)
        ax.set_title(panel.title, fontsize="medium")
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("accuracy (%)")
    fig.suptitle(title)
    handles = [Patch(facecolor=STYLES[s % len(STYLES)][0], alpha=0.5, label=name)
               for s, name in enumerate(series)]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(series),
               frameon=False)
    fig.tight_layout()
    _save(fig, path)


def plot_energy_stacks(groups: Sequence[tuple[str, Sequence[tuple[str, Mapping[str, float]]]]], *, title: str,
                       path: Path) -> bool:
    """A PNG of stacked bars: the energy per inference (J) of each point (``(label, {component: J})``) by
    component, points grouped under their group's name. The axis is logarithmic when the bars' totals
    span more than a decade (then a segment's height is not proportional to its energy); returns whether
    it is."""
    plt = _pyplot()
    from matplotlib.transforms import blended_transform_factory

    totals: dict[str, float] = {}
    for _, bars in groups:
        for _, breakdown in bars:
            for component, joules in breakdown.items():
                totals[component] = totals.get(component, 0.0) + joules
    components = sorted(totals, key=lambda c: (-totals[c], c))
    tab20 = plt.get_cmap("tab20").colors
    colours = tab20[0::2] + tab20[1::2]  # the ten strong colours first, then their light partners
    positions: list[float] = []
    labels: list[str] = []
    spans: list[tuple[str, float, float]] = []
    x = 0.0
    for name, bars in groups:
        first = x
        for label, _ in bars:
            positions.append(x)
            labels.append(label)
            x += 1
        spans.append((name, first, x - 1))
        x += 0.8  # a gap between groups
    bar_totals = [sum(b.values()) for _, bars in groups for _, b in bars]
    positive = [t for t in bar_totals if t > 0]
    log = bool(positive) and max(positive) / min(positive) > 10
    fig, ax = plt.subplots(figsize=(min(40.0, max(6.0, 0.42 * len(positions) + 3.5)), 5))
    bottoms = [0.0] * len(positions)
    flat = [b for _, bars in groups for _, b in bars]
    for index, component in enumerate(components):
        heights = [b.get(component, 0.0) for b in flat]
        ax.bar(positions, heights, bottom=bottoms, width=0.75, color=colours[index % len(colours)],
               label=component)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    if log:
        ax.set_yscale("log")
        ax.set_ylim(min(positive) / 5, max(positive) * 2)
    _energy_ticks(ax.yaxis, log)
    ax.set_xticks(positions, labels, rotation=45, ha="right", rotation_mode="anchor", fontsize="small")
    ax.set_xlim(-0.7, x - 0.1)
    ax.set_ylabel("energy per inference" + (" (log scale)" if log else ""))
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for number, (name, first, last) in enumerate(spans):
        ax.text((first + last) / 2, 1.01, name, transform=top, ha="center", va="bottom", fontsize="medium",
                fontweight="bold")
        if number:
            ax.axvline(first - 0.9, color="gray", linestyle=":", linewidth=1)
    ax.set_title(title, pad=22)
    ax.grid(axis="y", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small",
              title="component", frameon=False)
    _save(fig, path)
    return log


def plot_accuracy_energy(series: Sequence[Scatter], front: Sequence[tuple[float, float]], *,
                         reference: float | None, title: str, path: Path) -> None:
    """A PNG of accuracy (%) against energy per inference (J, log axis): one colour and marker per series
    with error bars, the Pareto front (``(energy, accuracy)`` by rising energy) as a step line with its
    points numbered 1, 2, ... in that order, and the float model's accuracy dashed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for index, scatter in enumerate(series):
        colour, marker = STYLES[index % len(STYLES)]
        ys = [100 * a for a in scatter.accuracies]
        below = [y - low for y, low in zip(ys, _percent(scatter.lows), strict=True)]
        above = [high - y for y, high in zip(ys, _percent(scatter.highs), strict=True)]
        ax.errorbar(scatter.energies, ys, yerr=[below, above], fmt=marker, color=colour, markersize=7,
                    capsize=3, elinewidth=1, alpha=0.85, label=scatter.label)
    if front:
        ax.step([e for e, _ in front], [100 * a for _, a in front], where="post", color="black",
                linewidth=1.2, zorder=4, label="Pareto front")
        for rank, (energy, accuracy) in enumerate(front, start=1):
            ax.annotate(str(rank), (energy, 100 * accuracy), xytext=(-4, 5), textcoords="offset points",
                        ha="right", fontsize=8, fontweight="bold", zorder=5)
    if reference is not None:
        ax.axhline(100 * reference, color="gray", linestyle="--", linewidth=1,
                   label=f"float model: {100 * reference:.2f} %")
    ax.set_xscale("log")
    _energy_ticks(ax.xaxis, log=True)
    ax.set_xlabel("energy per inference (log scale)")
    ax.set_ylabel("accuracy (%)")
    _cap_percent(ax)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] in ("Pareto front",)
                   or labels[i].startswith("float model"))  # the series first
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper center",
              bbox_to_anchor=(0.5, -0.14), ncol=min(3, len(series) + 2), fontsize="small", frameon=False)
    _save(fig, path)
