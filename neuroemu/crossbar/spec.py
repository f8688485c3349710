"""``Crossbar(...)``: the analog-crossbar substrate spec (frozen, validated) and its ``apply``."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from neuroemu.cards import Card
from neuroemu.crossbar.buffers import keep_freed_memory
from neuroemu.crossbar.irdrop import DEFAULT_WIRE
from neuroemu.crossbar.layers import CrossbarLayer, CrossbarState
from neuroemu.crossbar.model import crossbar_layers, install
from neuroemu.crossbar.repair import parse_repair
from neuroemu.devices import device_model
from neuroemu.specs import Preset, SpecError, option, validate

__all__ = ["AIHWKIT_INFERENCE", "BINARY_CELL_SLICING", "Crossbar", "default_slicing"]

#: float layers on a two-level (binary) cell: each weight magnitude as 8 bits over eight one-bit cells
BINARY_CELL_SLICING = (8, 1)


def default_slicing(device: str | Card) -> tuple[int, int] | None:
    """The slicing the commands use when none is given: :data:`BINARY_CELL_SLICING` on a binary device."""
    return BINARY_CELL_SLICING if device_model(device).levels == 2 else None


#: IBM aihwkit's default inference configuration (``InferenceRPUConfig()``: ``forward = IOParameters()``,
#: ``mapping = MappingParameter()``, ``noise_model = PCMLikeNoiseModel()``, ``drift_compensation =
#: GlobalDriftCompensation()``), as read in aihwkit's sources (src/aihwkit/simulator/parameters/io.py,
#: parameters/mapping.py, configs/configs.py, noise_models.py; aihwkit 0.9 – 1.x). Not set here: the device
#: (aihwkit's default noise model is its PCM model; give ``device="pcm-joshi2020"``) and drift compensation
#: (on in aihwkit; the ``mc`` command's own flag).
AIHWKIT_INFERENCE = Preset("aihwkit-inference", "IBM aihwkit's default InferenceRPUConfig periphery", {
    "dac_bits": (7, "IOParameters.inp_res = 1/(2**7 - 2): 2^7 - 2 = 126 steps over [-inp_bound, inp_bound] = "
                    "[-1, 1], i.e. codes -63..63 (neuroemu's per-vector codes are ±(2^(b-1) - 1))"),
    "dac_signed": (True, "the DAC spans [-inp_bound, inp_bound], signed for every layer"),
    "adc_bits": (9, "IOParameters.out_res = 1/(2**9 - 2): 510 steps over [-out_bound, out_bound] (neuroemu's "
                    "9-bit ADC: 512 codes -256..255)"),
    "adc_range": (12.0, "IOParameters.out_bound = 12: the output clips at 12 × the output of one full-scale "
                        "weight at full-scale input, neuroemu's unit of a fixed adc_range"),
    "output_noise": (0.06, "IOParameters.out_noise = 0.06 (same unit as out_bound), drawn per MVM"),
    "output_unit": ("weight", "MappingParameter.weight_scaling_omega = 0: the tile holds the layer's own "
                              "weights, so out_noise, out_bound and out_res are in units of the weight "
                              "(the per-tile g_max mapping lives only in the PCM noise model)"),
    "input_management": ("per_vector", "IOParameters.noise_management = NoiseManagementType.ABS_MAX: each "
                                       "input vector divided by its max |x|, nm_thres = 0 (no cap)"),
    "bound_management": ("iterative", "IOParameters.bound_management = BoundManagementType.ITERATIVE"),
    "bound_halvings": (4, "aihwkit stops halving once the reduction exceeds max_bm_res / inp_res = 0.25 × 63 "
                          "= 15.75 (max_bm_factor = 1000 is larger): reads at 1, 1/2, 1/4, 1/8, 1/16"),
    "scaling": ("tile", "PCMLikeNoiseModel's SinglePairConductanceConverter maps each tile's max |w| to "
                        "g_max: one scale per tile"),
    "array": ((512, 512), "MappingParameter.max_input_size = max_output_size = 512"),
    "mapping": ("differential", "SinglePairConductanceConverter: a G+ / G- pair per weight"),
    "read_noise": ("frozen", "PCMLikeNoiseModel draws the 1/f read noise once per drift_analog_weights(t)"),
    "drift_estimate": ("periphery", "GlobalDriftCompensation reads each tile through the forward IO (noise, "
                                    "ADC) at programming and at t; aihwkit 1.1 reads one-hot inputs "
                                    "(get_readout_tensor is an identity matrix), neuroemu one all-ones "
                                    "input, which averages the output noise over the rows"),
    "adc_noise": (0.0, "no input-referred ADC noise besides out_noise"),
    "weight_clip": (None, "WeightClipParameter: no clipping by default"),
})


@dataclass(frozen=True, kw_only=True)
class Crossbar:
    """Emulate every ``nn.Linear`` / ``nn.Conv2d`` on analog crossbar arrays of a device card.

    Every field is declared once below (type, default, range, help; :func:`neuroemu.specs.describe` prints
    them as a table). Two sets of defaults, both declared on the fields: the Python defaults are the exact
    reference — an ideal device, no converters, one array per layer, so ``Crossbar()`` computes what the
    float model computes — and the command line's defaults (``cli_default``) a realistic chip: the
    ``rram-wan2022`` card on 256×256 arrays with 8-bit DACs and ADCs (ISAAC's converter widths).

    Quantised layers (``LeNet5(quant=...)``, :mod:`neuroemu.lowbit`) are mapped with the weights they
    compute with: binary / ternary codes in one two-state cell per side of a differential pair (no slicing),
    k-bit DoReFa codes exactly over the cells they need (b bits each), the quantiser's scale (XNOR-Net α_c,
    TWN α) in the digital column scale; ``scaling`` and ``weight_clip`` do not apply to them (see
    :mod:`neuroemu.crossbar.lowbit`).
    """

    device: str | Card = option("ideal", "device card name, path or card object", kind="card",
                                cli_default="rram-wan2022")
    array: tuple[int, int] | None = option(
        None, "rows and columns of one array; larger layers are tiled over several", kind="pair", ge=1,
        optional=True, none="one array per layer", cli_default=(256, 256))
    dac_bits: int | None = option(None, "DAC resolution in bits", kind=int, ge=1, le=24, optional=True,
                                  none="inputs applied exactly, no DAC", cli_default=8)
    adc_bits: int | None = option(None, "ADC resolution in bits", kind=int, ge=1, le=24, optional=True,
                                  none="column outputs read exactly, no ADC", cli_default=8)
    dac_range: float | str = option(
        "calibrated", "DAC full scale: 'calibrated' (per layer, the largest |input| on calibration "
        "images) or a full scale in input units shared by every layer", kind=float, gt=0,
        words=("calibrated",))
    dac_signed: bool | None = option(
        None, "force a signed (two's-complement) or an unsigned DAC", kind=bool, optional=True,
        none="decided by calibration (signed for a fixed range)")
    adc_range: float | str = option(
        "calibrated", "ADC full scale: 'calibrated' (per array, the largest |partial sum| on calibration "
        "images) or the current of that many fully-on devices at full-scale input (aihwkit's out_bound)",
        kind=float, gt=0, words=("calibrated",))
    mapping: str = option("differential", "weights as G+ - G- pairs, or single-ended cells beside a "
                          "reference column", kind=str, choices=("differential", "reference"))
    scaling: str = option("column", "weight-to-conductance scale per output column, per layer or per array "
                          "(tile: each row tile x column tile its own, aihwkit's per-tile scaling)", kind=str,
                          choices=("column", "layer", "tile"))
    weight_clip: float | None = option(None, "clip weights beyond this many standard deviations (warns with "
                                       "a count)", kind=float, gt=0, optional=True, none="no clipping")
    slicing: tuple[int, int] | None = option(
        None, "bit slicing CELLSxBITS: each weight magnitude as a b*k-bit number over k cells of b bits "
        "(differential mapping; needed for float layers on a two-level device, where the commands default "
        "to 8x1)", kind="pair", ge=1, optional=True, none="one cell per weight")
    input_mode: str = option("dac", "inputs through a dac_bits DAC, or one input bit plane per cycle "
                             "(recombined by shift-and-add)", kind=str, choices=("dac", "bit_serial"))
    adc_noise: float = option(0.0, "Gaussian noise at each ADC input, sigma in LSB, drawn per conversion "
                              "from a counter-based stream (the same whatever the batch size)", kind=float,
                              ge=0)
    output_noise: float = option(
        0.0, "Gaussian noise at each column output before the ADC, drawn for every MVM: sigma in fully-on "
        "devices at full-scale input (the unit of adc_range; aihwkit's out_noise)", kind=float, ge=0)
    output_unit: str = option(
        "device", "the unit of a fixed adc_range and of output_noise: the current of one fully-on device "
        "(device; aihwkit with weight_scaling_omega = 1) or of one unit of the layer's weight (weight; "
        "aihwkit's default weight_scaling_omega = 0), at full-scale input", kind=str,
        choices=("device", "weight"))
    read_noise: str = option(
        "frozen", "device read noise drawn once per read time (frozen) or redrawn at every MVM (per_read, "
        "its Gaussian effect on each column output)", kind=str, choices=("frozen", "per_read"))
    input_management: str = option(
        "layer", "DAC range per layer (dac_range) or per input vector: each MVM's input scaled by its own "
        "max |x| and the output scaled back digitally (per_vector, aihwkit's noise_management=ABS_MAX)",
        kind=str, choices=("layer", "per_vector"))
    bound_management: str = option(
        "none", "repeat a read whose ADC saturated with the input halved (iterative, aihwkit's "
        "bound_management=ITERATIVE), or not (none)", kind=str, choices=("none", "iterative"))
    bound_halvings: int = option(4, "most input halvings of iterative bound management (reads: 1 + this)",
                                 kind=int, ge=1, le=30)
    ir_drop: str = option(
        "none", "IR drop on the word and bit lines of every array, from the wire card: none, exact (nodal "
        "solve per array and read) or first_order (first order in the wire resistance, cheaper)", kind=str,
        choices=("none", "exact", "first_order"))
    wire: str | Card | None = option(
        None, "wire card (segment resistances per cell) for ir_drop", kind="card", optional=True,
        none=f"{DEFAULT_WIRE} when ir_drop is on")
    trials: int = option(1, "independent chip instances programmed at once", kind=int, ge=1)
    seed: int = option(0, "seed of the trials' random draws", kind=int)
    first_trial: int = option(
        0, "index of the first chip instance drawn: the trials are first_trial … first_trial + trials − 1, "
        "each with the same draws whatever the others (a large Monte Carlo runs in chunks)", kind=int, ge=0)
    time: float = option(0.0, "seconds after programming at which the devices are read", kind=float, ge=0,
                         unit="s")
    drift_compensation: bool = option(False, "global drift compensation (Joshi et al. 2020)", kind=bool)
    drift_estimate: str = option(
        "exact", "how drift compensation measures each array: the exact sum of its conductances (exact, an "
        "optimistic ideal reference) or a calibration read through DAC, output noise and ADC (periphery)",
        kind=str, choices=("exact", "periphery"))
    stuck_on_rate: float | None = option(
        None, "fraction of cells stuck at g_max (stuck-at-ON), replacing the device card's rate", kind=float,
        ge=0, le=1, optional=True, none="the device card's stuck_on_rate")
    stuck_off_rate: float | None = option(
        None, "fraction of cells stuck at g_min (stuck-at-OFF), replacing the device card's rate", kind=float,
        ge=0, le=1, optional=True, none="the device card's stuck_off_rate")
    columns_per_adc: int = option(128, "columns sharing one ADC, for latency and area (ISAAC: 128); not "
                                  "used by the emulation", kind=int, ge=1)
    repair: str | None = option(
        None, "fault-tolerant mapping from the fault map read after programming: spare-columns=N (remap the "
        "N most damaged columns of each layer to spares), finetune (re-fit the digital column scales), or "
        "both comma-separated", kind=str, optional=True, none="no repair")

    def __post_init__(self) -> None:
        validate(self)
        if self.slicing is not None:
            if self.slicing[0] * self.slicing[1] > 24:
                raise SpecError(f"Crossbar.slicing must be None or (cells >= 1, bits >= 1) with cells*bits "
                                f"<= 24, got {self.slicing!r}")
            if self.mapping != "differential":
                raise SpecError("Crossbar.slicing needs mapping='differential'")
        if self.input_mode == "bit_serial" and self.dac_bits is None:
            raise SpecError("Crossbar.input_mode='bit_serial' needs dac_bits (the number of input bit "
                            "planes)")
        if self.adc_noise > 0 and self.adc_bits is None:
            raise SpecError("Crossbar.adc_noise needs adc_bits (the noise is in units of the ADC's LSB)")
        managed = [name for name, on in (
            ("output_noise", self.output_noise > 0), ("read_noise='per_read'", self.read_noise == "per_read"),
            ("input_management='per_vector'", self.input_management == "per_vector"),
            ("bound_management='iterative'", self.bound_management == "iterative")) if on]
        if managed and self.input_mode != "dac":
            raise SpecError(f"Crossbar.{managed[0]} needs input_mode='dac'")
        if self.output_noise > 0 and self.dac_bits is None and self.input_management != "per_vector":
            raise SpecError("Crossbar.output_noise needs dac_bits or input_management='per_vector' (its unit "
                            "is the current of a fully-on device at full-scale input)")
        if self.bound_management == "iterative" and self.adc_bits is None:
            raise SpecError("Crossbar.bound_management='iterative' needs adc_bits (it repeats reads that "
                            "saturate the ADC)")
        if self.read_noise == "per_read" and self.repair is not None:
            raise SpecError("Crossbar.read_noise='per_read' cannot be combined with repair")
        if self.repair is not None:
            try:
                parse_repair(self.repair)
            except ValueError as exc:
                raise SpecError(f"Crossbar.{exc}") from None
        if (self.stuck_on_rate or 0.0) + (self.stuck_off_rate or 0.0) > 1:
            raise SpecError(f"Crossbar.stuck_on_rate + Crossbar.stuck_off_rate must be <= 1, got "
                            f"{self.stuck_on_rate!r} + {self.stuck_off_rate!r}")

    def apply(self, model: nn.Module) -> nn.Module:
        """Swap every ``nn.Linear`` / ``nn.Conv2d`` of ``model`` (in place) for a programmed CrossbarLayer."""
        device = device_model(self.device)
        levels = device.levels
        if self.slicing is not None and levels is not None and 2 ** self.slicing[1] > levels:
            raise ValueError(f"slicing stores {self.slicing[1]} bits per cell but device "
                             f"{device.card.name!r} has only {levels} levels")
        if isinstance(model, nn.Linear | nn.Conv2d):  # a bare layer: give it a parent to be replaced in
            model = nn.Sequential(model)
        if self.trials > 1:
            keep_freed_memory()  # batch after batch reuses the same large buffers (see the module)
        state = CrossbarState(trials=self.trials, seed=self.seed, first_trial=self.first_trial,
                              time=float(self.time),
                              drift_compensation=self.drift_compensation)
        targets = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear | nn.Conv2d)]
        if not targets:
            raise ValueError("model has no nn.Linear or nn.Conv2d layer to map onto a crossbar")
        for name, module in targets:
            layer = CrossbarLayer(module, name, self, device, state)
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, layer)
        install(model, state)
        for layer in crossbar_layers(model):
            layer.program()
        return model


#: named presets of fields (``--preset NAME`` on the command line, ``preset = "NAME"`` in experiment files;
#: :func:`neuroemu.specs.presets`); each field's value carries its reason. A plain class attribute, not a
#: dataclass field.
Crossbar.PRESETS = {AIHWKIT_INFERENCE.name: AIHWKIT_INFERENCE}  # type: ignore[attr-defined]
