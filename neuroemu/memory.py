"""How much memory a run may take: the memory available now, read once where a run is planned."""

from __future__ import annotations

from pathlib import Path

__all__ = ["available_memory"]

#: assumed where the system does not say (no Linux ``/proc/meminfo``)
_UNKNOWN = 4 * 2**30


def available_memory() -> int:
    """Bytes of memory available to new allocations now (Linux ``MemAvailable``; 4 GiB where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _UNKNOWN
