"""Model-level operations on an emulated model: trials, calibration, read time.

An emulated model keeps its class and calling convention. With ``trials = T > 1`` its root module repeats
every input batch T times (trial-minor: row b·T + t is image b on chip instance t) before the first layer
and returns outputs of shape (T, B, …): one row of results per programmed chip instance. With T = 1 inputs
and outputs are exactly as for the float model.
"""

from __future__ import annotations

import torch
from torch import nn

from neuroemu.crossbar.layers import CrossbarLayer, CrossbarState

__all__ = ["calibrate", "crossbar_layers", "install", "set_time", "state_of"]

_ATTR = "_neuroemu_crossbar"


def _expand_trials(module: nn.Module, args: tuple) -> tuple | None:
    state: CrossbarState = getattr(module, _ATTR)
    if state.phase != "run" or state.trials == 1 or not args:
        return None
    x = args[0]
    repeated = x.repeat_interleave(state.trials, dim=0)
    state.repeated = (repeated, x)  # a layer given exactly this tensor may compute once per image
    return (repeated, *args[1:])


def _split_trials(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
    state: CrossbarState = getattr(module, _ATTR)
    state.repeated = None
    if state.phase != "run" or state.trials == 1:
        return None
    trials = state.trials
    return output.reshape(output.shape[0] // trials, trials, *output.shape[1:]).transpose(0, 1)


def _count_images(module: nn.Module, args: tuple) -> None:
    state: CrossbarState = getattr(module, _ATTR)
    if state.phase == "run" and args:
        state.batch_start = state.images_seen
        state.images_seen += args[0].shape[0]


def install(model: nn.Module, state: CrossbarState) -> None:
    """Attach ``state`` to the root module and the hooks that count images and add / split trials."""
    setattr(model, _ATTR, state)
    model.register_forward_pre_hook(_count_images)
    model.register_forward_pre_hook(_expand_trials)
    model.register_forward_hook(_split_trials)


def state_of(model: nn.Module) -> CrossbarState:
    """The crossbar state of an emulated model (``TypeError`` for a model not mapped onto a crossbar)."""
    state = getattr(model, _ATTR, None)
    if not isinstance(state, CrossbarState):
        raise TypeError("model is not mapped onto a Crossbar (use neuroemu.map(model, Crossbar(...)))")
    return state


def crossbar_layers(model: nn.Module) -> list[CrossbarLayer]:
    """Every emulated layer of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, CrossbarLayer)]


def calibrate(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> None:
    """Set every 'calibrated' DAC and ADC range from ``images`` (use a few batches not in the test set).

    Pass 1 runs the float layers and records each layer's largest |input| (DAC full scale; unsigned when no
    input is negative). Pass 2 applies those DACs to the target (noise-free) conductances and records each
    array's largest |partial sum| (ADC full scale, shared by the array's columns). Ranges are then fixed:
    later device noise and drift do not move them, as on a chip calibrated at design time.
    """
    state = state_of(model)
    layers = crossbar_layers(model)
    if len(images) == 0:
        raise ValueError("calibration needs at least one image")
    saved = state.phase
    try:
        with torch.inference_mode():
            for phase in ("calibrate-dac", "calibrate-adc"):
                state.phase = phase
                for start in range(0, len(images), batch_size):
                    model(images[start:start + batch_size])
                for layer in layers:
                    if phase == "calibrate-dac":
                        layer.finish_dac_calibration()
                    else:
                        layer.finish_adc_calibration()
    finally:
        state.phase = saved
    state.calibrated = True


def set_time(model: nn.Module, t: float, drift_compensation: bool | None = None) -> None:
    """Read the programmed devices ``t`` seconds after programming (drift, fresh read noise).

    ``drift_compensation``: apply global drift compensation (per array, per trial); ``None`` keeps the
    current setting. The programmed state (programming noise, drift exponents, faults) is unchanged. The
    image counter of per-conversion (ADC) noise restarts at 0, so every read sees the same noise stream.
    """
    state = state_of(model)
    state.images_seen = 0
    if drift_compensation is not None:
        state.drift_compensation = bool(drift_compensation)
    state.time = float(t)
    for layer in crossbar_layers(model):
        layer.read(state.time, state.drift_compensation)
