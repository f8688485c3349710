"""Keep freed tensor memory in the process during a Monte Carlo (fewer page faults).

A Monte Carlo forward allocates and frees the same large activation buffers (rows = images × trials) batch
after batch. glibc's allocator serves blocks above its mmap threshold with fresh ``mmap`` pages and returns
them on ``free``, so every batch touches new pages: profiling ``neuroemu mc`` showed a third of its CPU time
in the kernel, in page faults. :func:`keep_freed_memory` raises the thresholds (``mallopt``) so freed blocks
stay in the heap and the next batch reuses them: the same numbers, bought with a resident set that stays at
its peak instead of shrinking between batches. No effect (and no error) where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc <malloc.h>
#: (option, value): blocks up to 32 MiB (glibc's largest mmap threshold on 64-bit) from the heap; keep up
#: to 1 GiB of freed heap instead of trimming it; grow the heap 64 MiB at a time
_SETTINGS = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 1 << 30), (_M_TOP_PAD, 64 << 20))
_done = False


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse (once per process); ``True`` when it accepted."""
    global _done
    if _done:
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    ok = all([mallopt(option, value) == 1 for option, value in _SETTINGS])
    _done = ok
    return ok
