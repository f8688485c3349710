"""Analog crossbar emulation: map a trained network onto RRAM / PCM / STT-RAM arrays.

``neuroemu.map(model, Crossbar(device="pcm-joshi2020", array=(256, 256), dac_bits=8, adc_bits=8,
trials=100))`` replaces every ``nn.Linear`` / ``nn.Conv2d`` with a :class:`CrossbarLayer` whose weights are
programmed into ``trials`` independent instances of the device (a leading trial dimension); then
``calibrate(model, images)`` sets calibrated converter ranges and ``set_time(model, t, drift_compensation)``
reads the devices at time t. Quantised layers of low-bit networks (``LeNet5(quant=...)``) are mapped with
the weights they compute with: binary / ternary codes in two-state cells of differential pairs, k-bit codes
over the cells they need, the quantiser's scale in the digital column scale (``lowbit``).
Modules, one job each: ``spec`` (the Crossbar spec), ``mapping`` (weights → conductances), ``lowbit``
(low-bit weights), ``tiling`` (row / column tiles of ``array`` and the tiled MVM), ``cells`` (programmed
device instances with the trial dimension, read at time t), ``convert`` (uniform quantisers), ``dac`` (the
input DAC: codes, range, sign, two-level drivers, bit planes), ``adc`` (the column ADCs: range per array,
integer-step rounding, conversion noise), ``periphery`` (the read-by-read periphery: input management per
vector, output and per-read noise, iterative bound management), ``irdrop`` (IR drop on word and bit
lines), ``drift`` (the drift-compensation policy, exact or read through the periphery), ``digital`` (column
scale, shift-and-add, partial-sum adds, bias), ``layers`` (the emulated layer composing those parts),
``model`` (trials, calibration, time), ``hardware`` (latency, converter area and programming energy of the
mapped layers), ``substrate`` (its registration, with its part of ``neuroemu demo``). The ``neuroemu mc``
command (:mod:`neuroemu.commands.mc`) runs its Monte Carlo through the experiment runner.

Ledger events (recorded by every forward inside ``neuroemu.ledger.recording(model, ledger)``; counts cover
the whole batch × trials, i.e. each trial is one chip; ``layer`` = the module path, e.g. ``"fc1"``):

=========================  ==========================  =======================================================
event                      attributes                  one per
=========================  ==========================  =======================================================
``crossbar_mvm``           –                           array activation (MVM of one array: tile × slice)
``cell_read``              ``device``,                 device read (both cells of a pair, every slice,
                           ``conductance_s``           reference column devices)
``dac_conversion``         ``bits``                    input row driven, per array of the row (``dac_bits``)
``adc_conversion``         ``bits``, ``device``,       column (pair) current converted per array
                           ``column_conductance_s``    (``adc_bits``)
``shift_add``              –                           partial result recombined by shift-and-add (weight
                                                       slices, input bit planes)
``tile_partial_sum_add``   –                           digital add of a row tile's partial sum to an output
``output_scale``           –                           digital multiply of an ADC output by its column scale
``bias_add``               –                           bias added to an output
=========================  ==========================  =======================================================

``device`` is the device card's name; ``conductance_s`` (S) the layer's mean programmed conductance Ḡ at the
current read time, without read noise (drift and stuck cells included), over every trial, both cells of a
pair, every slice and each reference column once per column tile; ``column_conductance_s`` = Ḡ × devices /
conversions per MVM (S), the conductance one conversion reads. Both are computed when the devices are read
(programming, ``set_time``), so a ledger prices on its own (:func:`neuroemu.cost.crossbar.crossbar_rules`);
entries recorded at different read times stay apart. Per-image counts are ``count / (images × trials)``.
Positions of a convolution count as separate MVMs; each weight slice is its own array; with
``input_mode="bit_serial"`` every input bit plane is one more MVM cycle (1-bit row drives recorded as
``dac_conversion`` with ``bits=1``). With ``bound_management="iterative"`` every repeated read adds its
``crossbar_mvm`` (the row tile's arrays), ``cell_read`` (their devices), ``dac_conversion`` (their rows)
and ``adc_conversion`` (their columns) to the same entries.
"""

from neuroemu.crossbar.convert import adc_levels, dac_quantize, quantize_signed, quantize_unsigned
from neuroemu.crossbar.layers import CrossbarLayer, CrossbarState
from neuroemu.crossbar.mapping import Mapped, map_weights
from neuroemu.crossbar.model import calibrate, crossbar_layers, set_time, state_of
from neuroemu.crossbar.spec import Crossbar

__all__ = [
    "Crossbar",
    "CrossbarLayer",
    "CrossbarState",
    "Mapped",
    "adc_levels",
    "calibrate",
    "crossbar_layers",
    "dac_quantize",
    "map_weights",
    "quantize_signed",
    "quantize_unsigned",
    "set_time",
    "state_of",
]
