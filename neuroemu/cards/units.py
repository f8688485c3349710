"""Quantities with units, as written in cards: ``"<number> <unit>"`` → SI float, and back for display.

A unit is an optional SI prefix followed by a base unit:

========  =====================================================================
prefixes  ``f`` 1e-15, ``p`` 1e-12, ``n`` 1e-9, ``u``/``µ`` 1e-6, ``m`` 1e-3,
          ``k`` 1e3, ``M`` 1e6, ``G`` 1e9, ``T`` 1e12
bases     ``S`` (conductance), ``V`` (voltage), ``A`` (current), ``s`` (time),
          ``J`` (energy), ``W`` (power), ``Hz`` (frequency), ``Ohm``/``Ω``
          (resistance), ``F`` (capacitance), ``m`` (length), ``m^2``/``m²`` (area)
========  =====================================================================

For areas the prefix scales the length before squaring: ``"0.0012 mm^2"`` is 1.2e-9 m². A bare base
wins over a prefix reading, so ``"m"`` is a metre and ``"mm"`` a millimetre; ``"mS"`` is millisiemens and
``"ms"`` milliseconds (case matters). The number may use a decimal point and an exponent (``"1.5e3 Hz"``);
the space before the unit is optional. Conversion goes through :class:`decimal.Decimal`, so ``"25 uS"``
is exactly the float ``25e-6``.
"""

from __future__ import annotations

import decimal
import math
import re
from decimal import Decimal

__all__ = ["DIMENSIONS", "PREFIXES", "UnitError", "format_quantity", "parse_quantity", "parse_unit"]


class UnitError(ValueError):
    """A quantity string that cannot be read (bad number, unknown unit, not finite)."""


#: SI prefix → power of ten. ``µ`` (U+00B5, micro sign) and ``μ`` (U+03BC, Greek mu) both mean micro.
PREFIXES: dict[str, int] = {
    "f": -15, "p": -12, "n": -9, "u": -6, "µ": -6, "μ": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12,
}

#: canonical SI unit → the physical dimension it measures (the units a card field may declare).
DIMENSIONS: dict[str, str] = {
    "S": "conductance",
    "V": "voltage",
    "A": "current",
    "s": "time",
    "J": "energy",
    "W": "power",
    "Hz": "frequency",
    "Ohm": "resistance",
    "F": "capacitance",
    "m": "length",
    "m^2": "area",
}

# spelling → (canonical unit, power the prefix is raised to)
_BASES: dict[str, tuple[str, int]] = {
    **{unit: (unit, 1) for unit in DIMENSIONS if unit != "m^2"},
    "\u03a9": ("Ohm", 1),  # Ω, Greek capital omega
    "\u2126": ("Ohm", 1),  # Ω, ohm sign
    "m^2": ("m^2", 2),
    "m²": ("m^2", 2),
}

_DISPLAY = {"Ohm": "Ω"}
_DISPLAY_PREFIX = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T"}

_QUANTITY = re.compile(r"\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>.*?)\s*")
_NOT_FINITE = re.compile(r"\s*[+-]?(?:nan|inf|infinity)\b.*", re.IGNORECASE)


def parse_unit(symbol: str) -> tuple[str, int]:
    """Return ``(canonical unit, power of ten)`` for a unit symbol such as ``"uS"`` → ``("S", -6)``.

    ``"mm^2"`` → ``("m^2", -6)``: the power of ten already accounts for the square.
    """
    if symbol in _BASES:
        return _BASES[symbol][0], 0
    prefix, base = symbol[:1], symbol[1:]
    if prefix in PREFIXES and base in _BASES:
        unit, power = _BASES[base]
        return unit, PREFIXES[prefix] * power
    raise UnitError(f"unknown unit {symbol!r}")


def parse_quantity(text: str) -> tuple[float, str]:
    """Read ``"<number> <unit>"`` and return ``(value in SI, canonical unit)``, e.g. ``(2.5e-05, "S")``.

    Raises :class:`UnitError` for text that is not a number followed by a known unit, or that is not finite.
    """
    match = _QUANTITY.fullmatch(text)
    if match is None:
        if _NOT_FINITE.fullmatch(text):
            raise UnitError("is not finite")
        raise UnitError("is not a quantity: expected '<number> <unit>'")
    if not match["unit"]:
        raise UnitError("has no unit")
    try:
        unit, power = parse_unit(match["unit"])
    except UnitError:
        raise UnitError(f"has an unknown unit {match['unit']!r}") from None
    try:
        value = float(Decimal(match["number"]).scaleb(power))
    except decimal.DecimalException:  # an exponent beyond what Decimal can hold (e.g. 1e99999999999)
        raise UnitError("is out of range: its exponent is too large") from None
    if not math.isfinite(value):
        raise UnitError("is not finite")
    return value, unit


def format_quantity(value: float, unit: str, digits: int = 6) -> str:
    """Format an SI value for people: ``format_quantity(2.5e-5, "S")`` → ``"25 µS"``.

    The prefix is chosen so that the number lies in [1, 1000) (for areas: the length prefix, so that the
    number lies in [1, 1e6)); ``digits`` significant digits are kept and trailing zeros dropped.
    """
    if unit not in DIMENSIONS:
        raise UnitError(f"unknown unit {unit!r}")
    power = _BASES[unit][1]
    shown = _DISPLAY.get(unit, unit)
    if value == 0 or not math.isfinite(value):
        return f"{_number(value, 0, digits)} {shown}"
    exponent = math.floor(math.log10(abs(value)) / (3 * power)) * 3
    exponent = min(max(exponent, -15), 12)
    return f"{_number(value, -exponent * power, digits)} {_DISPLAY_PREFIX[exponent]}{shown}"


def _number(value: float, scale: int, digits: int) -> str:
    if not math.isfinite(value):
        return repr(value)
    return f"{float(Decimal(repr(value)).scaleb(scale)):.{digits}g}"
