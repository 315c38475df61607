"""Keep freed array memory in the process for reuse (glibc malloc settings).

Why: the model steps allocate and free arrays of tens of MB to GBs in loops (a ranker serve
chunk builds ~5.6M candidate rows x ~45 columns). glibc serves every allocation above 32 MB
with a fresh mmap and returns it with munmap when freed, so each chunk page-faults all of its
memory in again. With mmap off and a large trim threshold, freed memory stays in the heap and
the next chunk reuses it: the page faults go and the serve phase's peak stays where it was,
at the price of a somewhat higher peak for the whole build. Same effect as
MALLOC_MMAP_MAX_=0 in the environment, set from code so every way of running the steps gets
it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

log = logging.getLogger("models_py.memory")

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4

#: Free memory at the top of the heap kept before returning it to the system (C int: < 2 GiB).
TRIM_THRESHOLD = 2**31 - 1
#: Extra heap requested whenever the heap grows (fewer brk calls; untouched pages cost nothing).
TOP_PAD = 256 * 2**20


def keep_freed_memory() -> bool:
    """Set glibc's malloc to reuse freed memory; False (and nothing changed) elsewhere."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = all(
            libc.mallopt(param, value) == 1
            for param, value in ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD))
        )
    except (OSError, AttributeError):
        return False
    if not ok:
        log.warning("mallopt refused a setting: freed memory may be returned and faulted in again")
    return ok
