"""One point of any study — a Monte Carlo read time, a bitstream length, a number of time steps, an energy
run — and running it: configuration in, accuracy per trial, its summary, ledger and priced energy out.

A point's **configuration** is a JSON object (hashed by :func:`~neuroemu.experiments.store.config_hash` to
key its result): ``experiment``, ``substrate`` (a registry name), ``model``, ``arch`` (its architecture),
``model_sha256`` (the checkpoint file's bytes, so a replaced model file is a different point),
``dataset``, ``limit`` (test images, ``null``: all), ``calibration_images``, ``repeats``, ``spec`` (every
field of the substrate's spec, JSON values), ``card_sha256`` and ``pricing`` (``accumulator_bits``,
``multiplier_bits``, ``cards``: ``--card`` roles → names, ``paths``: extra card folders).

**Trials**: a crossbar point (or spiking on crossbar synapses) runs ``spec.trials`` chip instances at once.
A substrate that runs one chip (:attr:`~neuroemu.registration.Registration.chips`) and whose seed matters
(:attr:`~neuroemu.registration.Registration.random`: SC streams, Poisson inputs)
repeats the run ``repeats`` times with seeds ``seed``, ``seed + 1``, ..., so its accuracy comes with a
spread; a deterministic one runs once. ``card_sha256`` holds a hash of every card the spec names (of its
fields, as ``neuroemu cards show --json`` prints them), so an edited card makes a new point.

Its **record** (one line of ``results.jsonl``): ``hash``, ``status`` ("ok" / "failed"), ``config``,
``axes`` (the values the grid varies), ``result`` (``accuracy``: ``per_trial``, ``mean``, ``std``,
``ci95`` (Student t), ``n_images``, ``fp_accuracy``; ``energy``: ``per_inference_j``, ``breakdown_j``,
``per_layer_j``, ``latency_s``, ``area_m2``, ``cards``, ``unpriced``, ``programming_j``; ``ledger``: totals
and entries; ``calibration``: what calibration set, e.g. spiking scales), ``error``, ``wall_s``,
``warnings`` (the distinct warnings the point raised), ``versions`` and ``finished`` (UTC).

Every random draw derives from the spec's seed and the trial, so a point gives the same numbers in any
process, on any worker, at any batch size.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import platform
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import torch
from torch import nn

import neuroemu
from neuroemu import memory
from neuroemu.cards import card_sha256
from neuroemu.data import load_tensors
from neuroemu.experiments.energy import Recorded, load_role_cards, price_run, resolve_cards, spec_options
from neuroemu.experiments.store import config_hash, ledger_summary
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import accuracy, load_checkpoint, summarize
from neuroemu.nets.checkpoints import resolve_model
from neuroemu.registration import Registration
from neuroemu.specs import build_spec, options
from neuroemu.substrates import get

__all__ = ["Point", "finished_record", "make_config", "per_image_summary", "run_point", "spec_of", "versions"]

#: image-trials per forward (a memory and speed knob: results do not depend on it); small enough that a
#: forward's activations stay below glibc's mmap threshold and are reused batch after batch (8192 rows made
#: the crossbar Monte Carlo spend a third of its time in page faults, issue 18)
ROWS_PER_FORWARD = 1024
#: trials up to which a Monte Carlo is never split (measuring a trial's memory costs two small mappings)
MIN_TRIALS_TO_CHUNK = 32
#: peak memory of programming and reading a trial, per byte its programmed chip keeps: on LeNet-5 with 100–200
#: trials the PCM, RRAM and STT-RAM cards' peak RSS grows by 1.3–1.9× what a trial keeps; 4 leaves a margin
PEAK_PER_HELD = 4
#: the share of the available memory one chunk of trials may take
MEMORY_SHARE = 0.5
#: at most this many images per forward
MAX_BATCH = 1000


@dataclass(frozen=True)
class Point:
    """A configuration to run (see the module) and the grid values that single it out (``axes``)."""

    config: dict[str, Any]
    axes: dict[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return config_hash(self.config)


def model_sha256(model: str) -> str:
    """sha256 of the checkpoint file behind a shipped model name or a path."""
    return hashlib.sha256(resolve_model(model).read_bytes()).hexdigest()


@functools.lru_cache(maxsize=32)
def _model_facts(model: str, mtime_ns: int) -> tuple[str, str, str]:
    """(sha256, data set, architecture) of a checkpoint, read once per file version (it is loaded, so it
    is checked)."""
    checkpoint = load_checkpoint(model)
    return model_sha256(model), checkpoint.dataset, checkpoint.arch


def make_config(substrate: str, model: str, spec: Any, *, experiment: str, dataset: str | None = None,
                limit: int | None = None, calibration_images: int = 64, repeats: int = 1,
                pricing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The configuration of one point (see the module); ``spec`` is a spec object of ``substrate``."""
    sha256, trained_on, arch = _model_facts(str(model), resolve_model(model).stat().st_mtime_ns)
    pricing = dict(pricing or {})
    paths = [str(p) for p in pricing.get("paths", ())]
    held = resolve_cards(spec, paths)
    cards = {o.name: card_sha256(getattr(held, o.name))
             for o in options(spec) if o.kind == "card" and getattr(held, o.name) is not None}
    return {"experiment": experiment, "neuroemu_version": neuroemu.__version__, "substrate": substrate,
            "model": str(model), "arch": arch,
            "model_sha256": sha256, "dataset": dataset or trained_on, "limit": limit,
            "calibration_images": calibration_images, "repeats": repeats, "spec": spec_options(spec),
            "card_sha256": cards,
            "pricing": {"accumulator_bits": pricing.get("accumulator_bits", 16),
                        "multiplier_bits": pricing.get("multiplier_bits", 8),
                        "cards": dict(sorted(pricing.get("cards", {}).items())),
                        "paths": paths}}


def spec_of(registration: Registration, values: Mapping[str, Any]) -> Any:
    """The spec a configuration's ``spec`` object describes (JSON lists back to tuples)."""
    kinds = {o.name: o.kind for o in options(registration.spec)}
    fields = {name: tuple(value) if kinds.get(name) in ("pair", "triple") and isinstance(value, list)
              else value for name, value in values.items()}
    return build_spec(registration.spec, fields)


@functools.lru_cache(maxsize=8)
def _tensors(dataset: str, split: str, normalize: str,
             limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    return load_tensors(dataset, split, normalize=normalize, limit=limit)


@functools.lru_cache(maxsize=8)
def _float_accuracy(model: str, sha256: str, dataset: str, limit: int | None) -> float:
    checkpoint = load_checkpoint(model)
    images, labels = _tensors(dataset, "test", checkpoint.normalize, limit)
    return accuracy(checkpoint.build(), images, labels)


def trial_chunks(spec: Any, build: Callable[[], nn.Module]) -> list[Any]:
    """``spec`` split into specs of consecutive trials (``first_trial``, ``trials``) whose programmed chips
    fit in memory: each trial draws the same devices whatever the chunk, so the results do not depend on the
    split. A spec without ``first_trial`` is one chunk.

    The memory of one trial is measured, not guessed: the bytes of the tensors an emulated model holds with
    two trials minus those with one (:func:`held_bytes`), times :data:`PEAK_PER_HELD` for the temporaries of
    programming and reading; a chunk takes at most :data:`MEMORY_SHARE` of the memory available now."""
    fields = {o.name for o in options(spec)}
    if not {"trials", "first_trial"} <= fields or spec.trials <= MIN_TRIALS_TO_CHUNK:
        return [spec]
    one, two = (held_bytes(neuroemu.map(build(), dataclasses.replace(spec, trials=n))) for n in (1, 2))
    per_trial = max(two - one, 1) * PEAK_PER_HELD
    available = memory.available_memory()
    size = int(available * MEMORY_SHARE // per_trial)
    if size < 1:
        raise MemoryError(f"one trial needs about {per_trial / 2**30:.1f} GiB and "
                          f"{available / 2**30:.1f} GiB are available: use a smaller network or free memory")
    first, total = spec.first_trial, spec.trials
    return [dataclasses.replace(spec, first_trial=first + start, trials=min(size, total - start))
            for start in range(0, total, size)]


#: what :func:`held_bytes` does not look into: plain values, classes and modules (a module's namespace is
#: not state of the model)
_NOT_HOLDING = (str, bytes, int, float, bool, type, ModuleType, type(None))


def held_bytes(root: Any) -> int:
    """Bytes of the distinct tensor storages reachable from ``root`` through attributes, containers and
    dataclass fields (a module's parameters, buffers and any state its layers keep)."""
    seen_objects: set[int] = set()
    storages: dict[int, int] = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen_objects or isinstance(obj, _NOT_HOLDING):
            continue
        seen_objects.add(id(obj))
        if isinstance(obj, torch.Tensor):
            storage = obj.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif isinstance(obj, nn.Module) or (hasattr(obj, "__dict__") and not callable(obj)):
            stack.extend(vars(obj).values())
    return sum(storages.values())


def correct_per_chip(emulated: nn.Module, images: torch.Tensor, labels: torch.Tensor, chips: int,
                     ledger: Ledger, batch_size: int | None = None) -> torch.Tensor:
    """Images each chip instance classifies correctly (outputs (chips, B, C) or (B, C)), recording into
    ``ledger``; ``batch_size`` images per forward (default: at most :data:`ROWS_PER_FORWARD` image-chips)."""
    batch = batch_size or max(1, min(MAX_BATCH, ROWS_PER_FORWARD // chips))
    correct = torch.zeros(chips, dtype=torch.int64)
    with torch.inference_mode(), recording(emulated, ledger):
        for start in range(0, len(images), batch):
            logits = emulated(images[start:start + batch])
            if logits.dim() == 2:
                logits = logits.unsqueeze(0)
            correct += (logits.argmax(-1) == labels[start:start + batch]).sum(-1)
    return correct


def run_point(config: Mapping[str, Any], batch_size: int | None = None) -> dict[str, Any]:
    """Run one point: its ``result`` (accuracy, energy, ledger, calibration), ``wall_s`` and the distinct
    ``warnings`` it raised (kept with the result instead of printed, so a study can summarise them once).

    ``batch_size``: images per forward (memory and speed only: the results do not depend on it). Raises
    what the run raises (a point that fails is recorded as failed by the runner)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # not the point's: an unclosed file of earlier work (scipy's Sobol tables, say) reported whenever
        # the garbage collector happens to run, which made the same point's record differ between processes
        warnings.simplefilter("ignore", ResourceWarning)
        outcome = _run(config, batch_size)
    outcome["warnings"] = sorted({str(w.message) for w in caught})
    return outcome


def _run(config: Mapping[str, Any], batch_size: int | None) -> dict[str, Any]:
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    start = time.perf_counter()
    registration = get(config["substrate"])
    checkpoint = load_checkpoint(config["model"])
    if model_sha256(config["model"]) != config["model_sha256"]:
        raise ValueError(f"model {config['model']!r} has changed since the point was made (sha256 differs)")
    pricing = config["pricing"]
    paths = pricing.get("paths", [])
    spec = registration.complete(resolve_cards(spec_of(registration, config["spec"]), paths))
    dataset, limit = config["dataset"], config["limit"]
    images, labels = _tensors(dataset, "test", checkpoint.normalize, limit)
    calibration = None
    if registration.calibrate is not None:
        calibration, _ = _tensors(dataset, "train", checkpoint.normalize, config["calibration_images"])
    repeated = registration.random(spec) and registration.chips(spec) == 1
    repeats = config["repeats"] if repeated else 1
    chips = registration.chips(spec)
    ledger, per_trial, calibrated, emulated = Ledger(), [], None, None
    for repeat in range(repeats):
        run_spec = dataclasses.replace(spec, seed=spec.seed + repeat) if repeat else spec
        for chunk in trial_chunks(run_spec, checkpoint.build):
            emulated = neuroemu.map(checkpoint.build(), chunk)
            if registration.calibrate is not None:
                info = registration.calibrate(emulated, calibration)
                calibrated = info if calibrated is None else calibrated
            chips_now = registration.chips(chunk)
            correct = correct_per_chip(emulated, images, labels, chips_now, ledger, batch_size)
            per_trial += (correct.double() / len(images)).tolist()
    cards, own = load_role_cards(registration, pricing["cards"], paths)
    assert emulated is not None
    inferences = len(images) * chips * repeats
    measurement = price_run(registration, spec, Recorded(emulated, ledger, inferences), cards=cards,
                            own_cards=own, accumulator_bits=pricing["accumulator_bits"],
                            multiplier_bits=pricing["multiplier_bits"], paths=paths)
    report, plan = measurement.report, measurement.floorplan
    energy = {"per_inference_j": report.per_inference_j, "breakdown_j": report.breakdown_per_inference_j(),
              "per_layer_j": report.per_layer_per_inference_j(), "cards": sorted(set(report.cards)),
              "unpriced": list(report.unpriced), "inferences": inferences, "report": report.to_dict(),
              "latency_s": plan.latency_s if plan else None,
              "area_m2": plan.area_m2 if plan else None}
    if plan is not None:
        energy.update(area_breakdown_m2=plan.area_breakdown_m2, floorplan_basis=plan.basis,
                      floorplan_layers=list(plan.layers))
    if measurement.per_image_j is not None:
        energy["per_image"] = per_image_summary(measurement.per_image_j)
    if measurement.not_counted:
        energy["not_counted"] = [dict(item) for item in measurement.not_counted]
    if measurement.programming is not None:
        energy.update(programming_j=measurement.programming.total_j,
                      programming=measurement.programming.to_dict())
    fp = _float_accuracy(config["model"], config["model_sha256"], dataset, limit)
    result = {"accuracy": {"per_trial": per_trial, **summarize(per_trial), "n_images": len(images),
                           "fp_accuracy": fp},
              "energy": energy, "ledger": ledger_summary(ledger), "calibration": calibrated}
    return {"result": result, "wall_s": round(time.perf_counter() - start, 3)}


def per_image_summary(energies: Sequence[float]) -> dict[str, Any]:
    """Energy per inference over images: mean, sample standard deviation, Student-t 95 % confidence
    interval of the mean (:func:`neuroemu.nets.summarize`), smallest, largest and the number of images."""
    stats = summarize(list(energies))
    return {"mean_j": stats["mean"], "std_j": stats["std"], "ci95_j": stats["ci95"], "min_j": min(energies),
            "max_j": max(energies), "images": len(energies)}


def versions() -> dict[str, str]:
    """The versions a result was made with."""
    return {"neuroemu": neuroemu.__version__, "torch": torch.__version__, "python": platform.python_version()}


def finished_record(point: Point, outcome: Mapping[str, Any] | None, error: str | None) -> dict[str, Any]:
    """The results line of a point that ran (``outcome`` from :func:`run_point`) or failed (``error``)."""
    return {"hash": point.hash, "status": "ok" if error is None else "failed", "config": point.config,
            "axes": point.axes, "result": outcome["result"] if outcome else None, "error": error,
            "wall_s": outcome["wall_s"] if outcome else None,
            "warnings": outcome.get("warnings", []) if outcome else [], "versions": versions(),
            "finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
