"""Hardware-aware training: train a network with the device card's noise, clipping and converters in its
forward pass (:mod:`neuroemu.hwa.layers`), so that the trained weights tolerate the analog chip."""

from neuroemu.hwa.layers import HwaConfig, HwaLayer, hwa_unwrap, hwa_wrap
from neuroemu.hwa.noise import WeightNoise

__all__ = ["HwaConfig", "HwaLayer", "WeightNoise", "hwa_unwrap", "hwa_wrap"]
