"""The report of a results file: ``report.md`` (tables of every point, the failed ones and the Pareto fronts)
and PNG plots beside it, from the records of ``results.jsonl`` (format: :mod:`neuroemu.experiments.point`).

What it shows:

- **accuracy vs energy per inference** for each network (``config.model``) across every substrate, with its
  Pareto front (the points no other point beats on both accuracy and energy, :func:`pareto_front`);
- a table per substrate: the grid values, accuracy, energy per inference and latency of each point, and a
  table of the failed points with their error;
- **accuracy vs bitstream length** (points whose spec has ``length``) and **vs time steps** (``timesteps``),
  one line per group of points that differ only in that field;
- **Monte Carlo distributions**: box plots of the accuracy of every chip instance (points whose spec has
  ``device`` and ``time`` and which ran several trials) per device and read time, drift compensation off
  and on side by side;
- the **energy breakdown** of every point by component, stacked, grouped by substrate.

Plots pick their points by the spec fields they plot, never by a substrate's name. Statistics: a point's
accuracy is the mean over its trials (chip instances, or runs with seeds ``seed``, ``seed + 1``, ...)
± the half-width of the record's Student-t 95 % confidence interval; a point with one trial shows ± the
binomial standard error sqrt(p (1 - p) / n) over its n test images instead (the sampling error of the test
set). Every caption says which. Points appear in a fixed order (substrate in registry order, model, grid
values by name, hash) whatever the order of the file, and are numbered ``#1``, ``#2``, ... so plots and tables
refer to each other.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from neuroemu.report import (
    Curve,
    Scatter,
    TrialPanel,
    format_si,
    format_time,
    plot_accuracy_bands,
    plot_accuracy_energy,
    plot_energy_stacks,
    plot_trial_boxes,
)
from neuroemu.substrates import names

__all__ = ["REPORT_NAME", "ReportError", "pareto_front", "write_report"]

T = TypeVar("T")

#: the report's file in its folder
REPORT_NAME = "report.md"
#: the PNG files a report writes (removed before a report is written again, so none is left stale)
PLOT_PATTERNS = ("accuracy-vs-*.png", "monte-carlo*.png", "energy-breakdown.png")
#: fields every record needs, and those of a successful one
_FIELDS = (("hash",), ("status",), ("config", "substrate"), ("config", "model"), ("config", "spec"),
           ("axes",))
_OK_FIELDS = (("result", "accuracy", "per_trial"), ("result", "accuracy", "mean"),
              ("result", "accuracy", "ci95"), ("result", "accuracy", "n_images"),
              ("result", "accuracy", "fp_accuracy"), ("result", "energy", "per_inference_j"),
              ("result", "energy", "breakdown_j"))
#: configuration keys that do not tell points apart for a plot (the experiment's name, the model's bytes,
#: the version that ran it)
_IGNORED = ("experiment", "neuroemu_version", "model_sha256")
_CI = "the Student-t 95 % confidence interval over its trials"
_STATISTICS = (
    "Accuracy: the mean over a point's trials (chip instances, or runs with successive seeds) ± the "
    "half-width of the Student-t 95 % confidence interval; a point with one trial shows ± the binomial "
    "standard error sqrt(p(1 - p)/n) over its n test images. Energy per inference and latency are priced "
    "from the cards (each record's `result.energy`); `-`: no floorplan basis for a latency. Points are "
    "numbered `#n` in the tables and plots.")
_SE = "the binomial standard error sqrt(p(1 - p)/n) over its n test images (one trial)"


class ReportError(ValueError):
    """A record the report cannot read (a field it needs is missing)."""


def pareto_front(points: Sequence[tuple[float, float, T]]) -> list[tuple[float, float, T]]:
    """The points ``(energy, accuracy, item)`` that no other point dominates (another dominates a point when
    its energy is no higher and its accuracy no lower, one of them strictly), by rising energy.

    Points equal in both energy and accuracy do not dominate each other: all of them are on the front, in
    their input order. Raises ``ValueError`` for an energy or accuracy that is not a finite number."""
    for index, (energy, accuracy, _) in enumerate(points):
        if not (math.isfinite(energy) and math.isfinite(accuracy)):
            raise ValueError(f"pareto_front: point {index} has energy {energy!r} and accuracy {accuracy!r}; "
                             "both must be finite numbers")
    front: list[tuple[float, float, T]] = []
    for point in sorted(points, key=lambda p: (p[0], -p[1])):  # stable: equal points keep their order
        if not front or point[1] > front[-1][1] or point[:2] == front[-1][:2]:
            front.append(point)
    return front


@dataclass(frozen=True)
class _Entry:
    """A record with its number in the report."""

    number: int
    record: Mapping[str, Any]

    @property
    def config(self) -> Mapping[str, Any]:
        return self.record["config"]

    @property
    def spec(self) -> Mapping[str, Any]:
        return self.record["config"]["spec"]

    @property
    def accuracy(self) -> Mapping[str, Any]:
        return self.record["result"]["accuracy"]

    @property
    def energy(self) -> Mapping[str, Any]:
        return self.record["result"]["energy"]

    @property
    def substrate(self) -> str:
        return str(self.config["substrate"])

    @property
    def model(self) -> str:
        return str(self.config["model"])

    @property
    def network(self) -> str:
        """The network the point runs: its architecture on its data set (every checkpoint of LeNet-5 on
        MNIST — float, tanh, ternary, binary — is one network), else the model's name."""
        arch = self.config.get("arch")
        return f"{arch} on {self.config.get('dataset', '?')}" if arch else self.model

    @property
    def axes(self) -> list[tuple[str, Any]]:
        """The grid values by name (as a results file holds them: sorted by name)."""
        return sorted(self.record["axes"].items())

    @property
    def several(self) -> bool:
        """Whether the point ran several trials (so it has a confidence interval)."""
        return len(self.accuracy["per_trial"]) > 1

    def spread(self) -> tuple[float, float]:
        """(low, high) of its accuracy's error bar: the 95 % CI over trials, else ± the binomial SE."""
        if self.several:
            low, high = self.accuracy["ci95"]
            return float(low), float(high)
        p, n = float(self.accuracy["mean"]), int(self.accuracy["n_images"])
        se = math.sqrt(max(0.0, p * (1 - p)) / n) if n > 0 else 0.0
        return p - se, p + se

    def axes_text(self, separator: str = ", ") -> str:
        return separator.join(f"{k}={_show(v)}" for k, v in self.axes)

    def short_label(self, width: int = 44) -> str:
        """``#n`` and its grid values (``name=value`` where that fits in ``width`` characters)."""
        text = self.axes_text()
        if len(text) > width:
            text = ", ".join(_show(v) for _, v in self.axes)
        text = text or self.model
        return f"#{self.number} " + (text if len(text) <= width else text[:width - 1] + "…")


@dataclass(frozen=True)
class _Plot:
    """A PNG made (``file`` in the report folder) or skipped (``file`` None, ``text`` the reason)."""

    title: str
    file: str | None
    text: str
    extra: str = ""


def write_report(records: list[dict[str, Any]], out: Path) -> Path:
    """Write ``out/report.md`` and its PNG plots for ``records`` (lines of ``results.jsonl``; see the module);
    returns report.md's path. ``out`` is created; a report's earlier files there are replaced. Raises
    :class:`ReportError` naming the record and the field when a record lacks one the report needs."""
    for record in records:
        _check(record)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for pattern in PLOT_PATTERNS:
        for stale in sorted(out.glob(pattern)):
            stale.unlink()
    entries = [_Entry(n, r) for n, r in enumerate(_ordered(records), start=1)]
    ok = [e for e in entries if e.record["status"] == "ok"]
    failed = [e for e in entries if e.record["status"] != "ok"]
    lines = _header(entries, ok, failed)
    plots: list[_Plot] = []
    if ok:
        key = _accuracy_energy(ok, out)
        lines += ["## Accuracy vs energy", ""]
        for plot in key:
            lines += _figure(plot)
        lines += _substrate_tables(ok)
        plots += _sweep(ok, "length", "bitstream length", "accuracy-vs-length", out)
        plots += _sweep(ok, "timesteps", "time steps", "accuracy-vs-timesteps", out)
        plots += _monte_carlo(ok, out)
        plots.append(_energy(ok, out))
        key_skipped = [p for p in key if p.file is None]
    else:
        reason = "no successful points" if failed else "no points"
        key_skipped = [_Plot("Accuracy vs energy", None, reason)]
        plots = [_Plot(title, None, reason) for title in ("Accuracy vs bitstream length",
                                                          "Accuracy vs time steps",
                                                          "Monte Carlo accuracy distributions",
                                                          "Energy breakdown")]
    if failed:
        lines += _failed_table(failed)
    made = [p for p in plots if p.file is not None]
    if made:
        lines += ["## Plots", ""]
        for plot in made:
            lines += _figure(plot, level="###")
    skipped = key_skipped + [p for p in plots if p.file is None]
    if skipped:
        lines += ["## Plots not made", ""]
        lines += [f"- **{p.title}**: {p.text}." for p in skipped] + [""]
    path = out / REPORT_NAME
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    return path


# ---- records -------------------------------------------------------------------------------------------

def _check(record: Any) -> None:
    if not isinstance(record, Mapping):
        raise ReportError(f"a result record must be a JSON object, got {type(record).__name__}")
    name = record.get("hash", "?")
    fields = _FIELDS + (_OK_FIELDS if record.get("status") == "ok" else ())
    for path in fields:
        value: Any = record
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                raise ReportError(f"result {name}: no field {'.'.join(path)} (not a neuroemu result line?)")
            value = value[key]
    if record.get("status") == "ok" and not record["result"]["accuracy"]["per_trial"]:
        raise ReportError(f"result {name}: result.accuracy.per_trial is empty")


def _ordered(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Substrate (registry order, then by name), model, grid values (numbers by value), hash."""
    known = names()

    def key(record: Mapping[str, Any]) -> tuple[Any, ...]:
        substrate = record["config"]["substrate"]
        axes = tuple((k, _sortable(_axis_value(record, k))) for k in sorted(record["axes"]))
        rank = known.index(substrate) if substrate in known else len(known)
        return rank, str(substrate), str(record["config"]["model"]), axes, str(record["hash"])

    return sorted(records, key=key)


def _axis_value(record: Mapping[str, Any], name: str) -> Any:
    """A grid value as the configuration holds it (a read time in seconds, not the text ``"1d"``)."""
    config = record["config"]
    if name in config["spec"]:
        return config["spec"][name]
    return config.get(name, record["axes"][name])


def _sortable(value: Any) -> tuple[int, float, str]:
    if value is None:
        return 0, 0.0, ""
    if isinstance(value, bool | int | float):
        return 1, float(value), ""
    return 2, 0.0, value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _md(text: Any) -> str:
    """Text safe inside a markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def _groups(entries: Sequence[_Entry], drop: Sequence[str]) -> list[tuple[str, list[_Entry]]]:
    """Entries grouped by their configuration without ``drop`` (flattened keys such as ``spec.length``),
    each group labelled by the values that tell the groups apart, sorted by label."""
    flats = {e.number: {k: v for k, v in _flat(e.config).items()
                        if k not in drop and k.split(".")[0] not in _IGNORED} for e in entries}
    grouped: dict[str, list[_Entry]] = {}
    for entry in entries:
        grouped.setdefault(json.dumps(flats[entry.number], sort_keys=True, default=str), []).append(entry)
    members = list(grouped.values())
    keys = sorted({k for e in entries for k in flats[e.number]})
    differing = [k for k in keys if len({json.dumps(flats[g[0].number].get(k), default=str)
                                          for g in members}) > 1]
    labelled = []
    for group in members:
        flat = flats[group[0].number]
        label = ", ".join(f"{k.removeprefix('spec.')}={_show(flat.get(k))}" for k in differing)
        labelled.append((label or f"{group[0].substrate}, {group[0].model}", group))
    return sorted(labelled, key=lambda item: (item[0], item[1][0].number))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "model"


def _spread_words(entries: Iterable[_Entry]) -> str:
    kinds = {e.several for e in entries}
    if kinds == {True}:
        return f"shows {_CI}"
    if kinds == {False}:
        return f"shows ± {_SE}"
    return f"shows {_CI} where a point has several trials, else ± {_SE}"


# ---- markdown ------------------------------------------------------------------------------------------

def _header(entries: Sequence[_Entry], ok: Sequence[_Entry], failed: Sequence[_Entry]) -> list[str]:
    experiments = sorted({str(e.config.get("experiment", "?")) for e in entries})
    lines = [f"# Report: {', '.join(experiments) or 'no results'}", ""]
    if not entries:
        return [*lines, "The results file holds no points: there is nothing to report.", ""]
    models = sorted({e.model for e in entries})
    datasets = sorted({str(e.config.get("dataset", "?")) for e in entries})
    lines += [f"{len(entries)} points: {len(ok)} ok, {len(failed)} failed. Models: "
              f"{', '.join(f'`{m}`' for m in models)}; data set: {', '.join(datasets)}.", ""]
    if not ok:
        return [*lines, f"All {len(failed)} points failed: there is no accuracy or energy to show (their "
                "errors are below).", ""]
    return [*lines, _STATISTICS, ""]


def _figure(plot: _Plot, level: str = "") -> list[str]:
    if plot.file is None:
        return []
    head = [f"{level} {plot.title}", ""] if level else []
    extra = [plot.extra, ""] if plot.extra else []
    return [*head, f"![{plot.title}]({plot.file})", "", plot.text, "", *extra]


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[bool]) -> list[str]:
    rule = ["---:" if r else "---" for r in right]
    return ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |",
            *("| " + " | ".join(_md(c) for c in row) + " |" for row in rows)]


def _accuracy_cell(entry: _Entry) -> str:
    low, high = entry.spread()
    return f"{100 * entry.accuracy['mean']:.2f} ± {100 * (high - low) / 2:.2f}"


def _spread_cell(entry: _Entry) -> str:
    trials = len(entry.accuracy["per_trial"])
    return f"95 % CI, {trials} trials" if entry.several else "binomial SE, 1 trial"


def _substrate_tables(ok: Sequence[_Entry]) -> list[str]:
    lines = ["## Points by substrate", ""]
    for substrate in dict.fromkeys(e.substrate for e in ok):
        mine = [e for e in ok if e.substrate == substrate]
        axes = sorted({k for e in mine for k in e.record["axes"]})
        model = [] if "model" in axes else ["model"]
        headers = ["#", *axes, *model, "accuracy (%)", "spread", "images", "energy / inference", "latency"]
        rows = [[f"#{e.number}", *(_show(e.record["axes"].get(k, "-")) for k in axes),
                 *([e.model] if model else []), _accuracy_cell(e), _spread_cell(e), e.accuracy["n_images"],
                 format_si(e.energy["per_inference_j"], "J"), format_si(e.energy.get("latency_s"), "s")]
                for e in mine]
        right = [False] * (1 + len(axes) + len(model)) + [True, False, True, True, True]
        lines += [f"### {substrate}", "", *_table(headers, rows, right), ""]
        unpriced = [e for e in mine if e.energy.get("unpriced")]
        if unpriced:
            events = sorted({str(u.get("event", u)) if isinstance(u, Mapping) else str(u)
                             for e in unpriced for u in e.energy["unpriced"]})
            lines += [f"Energy leaves out events no price rule covers ({', '.join(events)}) at "
                      f"{', '.join(f'#{e.number}' for e in unpriced)}.", ""]
    return lines


def _failed_table(failed: Sequence[_Entry]) -> list[str]:
    rows = []
    for e in failed:
        error = str(e.record.get("error") or "(no error recorded)")
        rows.append([f"#{e.number}", e.substrate, e.model, e.axes_text() or "-",
                     error if len(error) <= 300 else error[:299] + "…"])
    return ["## Failed points", "", f"{len(failed)} point(s) failed; `neuroemu run ... --retry-failed` runs "
            "them again.", "", *_table(["#", "substrate", "model", "grid values", "error"], rows,
                                       [False] * 5), ""]


# ---- plots ---------------------------------------------------------------------------------------------

def _accuracy_energy(ok: Sequence[_Entry], out: Path) -> list[_Plot]:
    """One scatter per network (architecture and data set, whatever the checkpoint), with its Pareto front
    (the report's key picture)."""
    plots: list[_Plot] = []
    used: set[str] = set()
    for model in sorted({e.network for e in ok}):
        mine = [e for e in ok if e.network == model]
        priced = [e for e in mine if _positive(e.energy["per_inference_j"])]
        title = f"Accuracy vs energy: {model}"
        if not priced:
            plots.append(_Plot(title, None, "no point of this network has a positive energy per inference"))
            continue
        series = []
        for substrate in dict.fromkeys(e.substrate for e in priced):
            points = [e for e in priced if e.substrate == substrate]
            series.append(Scatter(substrate, tuple(float(e.energy["per_inference_j"]) for e in points),
                                  tuple(float(e.accuracy["mean"]) for e in points),
                                  tuple(e.spread()[0] for e in points), tuple(e.spread()[1] for e in points)))
        front = pareto_front([(float(e.energy["per_inference_j"]), float(e.accuracy["mean"]), e)
                              for e in priced])
        references = {float(e.accuracy["fp_accuracy"]) for e in priced}
        reference = references.pop() if len(references) == 1 else None
        stem = _slug(model)
        name = stem if stem not in used else f"{stem}-{len(used) + 1}"
        used.add(name)
        file = f"accuracy-vs-energy-{name}.png"
        plot_accuracy_energy(series, [(e, a) for e, a, _ in front], reference=reference,
                             title=f"{model}: accuracy vs energy", path=out / file)
        left = len(mine) - len(priced)
        caption = (f"{len(priced)} points of `{model}` ({', '.join(sorted({e.model for e in priced}))}), "
                   "one colour and marker per substrate; error bars: "
                   f"each point {_spread_words(priced)}. Black step line: the Pareto front (no other point "
                   "has both higher accuracy and lower energy), its points numbered as in the table below"
                   + ("; dashed: the float model's accuracy" if reference is not None else "") + "."
                   + (f" {left} point(s) without a positive energy are left out." if left else ""))
        rows = [[rank, f"#{e.number}", e.substrate, e.model, e.axes_text() or "-", _accuracy_cell(e),
                 format_si(energy, "J")] for rank, (energy, _, e) in enumerate(front, start=1)]
        table = "\n".join([f"Pareto front of `{model}`:", "",
                           *_table(["front", "#", "substrate", "model", "grid values", "accuracy (%)",
                                    "energy / inference"], rows,
                                   [True, False, False, False, False, True, True])])
        plots.append(_Plot(title, file, caption, table))
    return plots


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _sweep(ok: Sequence[_Entry], field: str, words: str, stem: str, out: Path) -> list[_Plot]:
    """Accuracy against spec ``field`` (log2 axis), one line per group of points differing only in it."""
    title = f"Accuracy vs {words}"
    swept = [e for e in ok if isinstance(e.spec.get(field), int | float)]
    groups = [(label, group) for label, group in _groups(swept, [f"spec.{field}"])
              if len({e.spec[field] for e in group}) > 1]
    if not groups:
        return [_Plot(title, None, f"no points that differ only in spec `{field}` ({len(swept)} point(s) "
                      f"have a `{field}` field)")]
    curves = []
    shown: list[_Entry] = []
    for label, group in groups:
        by_x: dict[float, _Entry] = {}
        for entry in group:
            by_x.setdefault(float(entry.spec[field]), entry)
        points = [by_x[x] for x in sorted(by_x)]
        shown += points
        references = {float(e.accuracy["fp_accuracy"]) for e in points}
        curves.append(Curve(label, tuple(sorted(by_x)), tuple(float(e.accuracy["mean"]) for e in points),
                            tuple(e.spread()[0] for e in points), tuple(e.spread()[1] for e in points),
                            references.pop() if len(references) == 1 else None))
    file = f"{stem}.png"
    plot_accuracy_bands(curves, xlabel=f"{words} (log2 axis)", title=title, path=out / file)
    caption = (f"{len(shown)} points ({', '.join(f'#{e.number}' for e in shown)}), one line per group of "
               f"points that differ only in `{field}`. Shaded band: each point {_spread_words(shown)} "
               "(clipped to 0–100 %); dashed: the float model's accuracy.")
    return [_Plot(title, file, caption)]


def _monte_carlo(ok: Sequence[_Entry], out: Path) -> list[_Plot]:
    """Box plots of the accuracy of each chip instance, per device (panel) and read time, drift
    compensation off / on side by side; one PNG per group of points differing in nothing else."""
    title = "Monte Carlo accuracy distributions"
    chips = [e for e in ok
             if e.several and "device" in e.spec and isinstance(e.spec.get("time"), int | float)]
    if not chips:
        return [_Plot(title, None, "no points with a `device` and a read `time` that ran several trials "
                      "(chip instances)")]
    groups = _groups(chips, ["spec.device", "spec.time", "spec.drift_compensation"])
    plots = []
    for index, (label, group) in enumerate(groups, start=1):
        series = {False: "drift compensation off", True: "drift compensation on"}
        present = [s for s in (False, True) if any(_compensated(e) == s for e in group)]
        panels = []
        for device in sorted({str(e.spec["device"]) for e in group}):
            mine = [e for e in group if str(e.spec["device"]) == device]
            times = sorted({float(e.spec["time"]) for e in mine})
            trials: dict[str, list[list[float]]] = {series[s]: [[] for _ in times] for s in present}
            for e in mine:
                cell = trials[series[_compensated(e)]][times.index(float(e.spec["time"]))]
                if not cell:
                    cell.extend(float(a) for a in e.accuracy["per_trial"])
            panels.append(TrialPanel(device, tuple(_time_label(mine, t) for t in times), trials))
        file = "monte-carlo.png" if len(groups) == 1 else f"monte-carlo-{index}.png"
        heading = title if len(groups) == 1 else f"{title} ({label})"
        counts = sorted({len(e.accuracy["per_trial"]) for e in group})
        plot_trial_boxes(panels, xlabel="read time after programming",
                         title=f"Accuracy over chip instances: {label}", path=out / file)
        caption = (f"{len(group)} points ({', '.join(f'#{e.number}' for e in group)}), "
                   f"{'/'.join(map(str, counts))} chip instances (trials) each: boxes span the quartiles "
                   "with the median, whiskers reach 1.5 × the interquartile range, dots are the instances.")
        plots.append(_Plot(heading, file, caption))
    return plots


def _time_label(entries: Sequence[_Entry], seconds: float) -> str:
    """A read time as the experiment wrote it (``"1y"``), else in the largest unit that fits."""
    for entry in entries:
        written = entry.record["axes"].get("time")
        if float(entry.spec["time"]) == seconds and isinstance(written, str):
            return written
    return format_time(seconds)


def _compensated(entry: _Entry) -> bool:
    return bool(entry.spec.get("drift_compensation"))


def _energy(ok: Sequence[_Entry], out: Path) -> _Plot:
    """Stacked bars of every point's energy per inference by component, grouped by substrate."""
    title = "Energy breakdown"
    groups = []
    for substrate in dict.fromkeys(e.substrate for e in ok):
        bars = [(e.short_label(), {str(k): float(v) for k, v in e.energy["breakdown_j"].items()})
                for e in ok if e.substrate == substrate]
        groups.append((substrate, bars))
    file = "energy-breakdown.png"
    log = plot_energy_stacks(groups, title="Energy per inference by component", path=out / file)
    caption = (f"{len(ok)} points, grouped by substrate; each bar stacks `result.energy.breakdown_j`."
               + (" The axis is logarithmic (the totals span more than a decade), so a segment's height is "
                  "not proportional to its energy: the tables give the totals." if log else ""))
    return _Plot(title, file, caption)

