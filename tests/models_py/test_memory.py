"""models_py.memory: freed arrays stay in the heap instead of a mmap each.

Run in a fresh interpreter: malloc settings are process-wide, and the check reads the
process's own memory map.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

#: Allocates a 256 MB array and reports whether a new anonymous mapping of that size appeared
#: (glibc's default for any block above its 32 MB mmap threshold).
PROBE = """
import sys
import numpy as np
from models_py.memory import keep_freed_memory

def big_maps():
    out = set()
    for line in open("/proc/self/maps"):
        fields = line.split()
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if hi - lo >= 200 * 2**20 and len(fields) < 6:  # anonymous, no path
            out.add(fields[0])
    return out

if sys.argv[1] == "keep":
    assert keep_freed_memory()
before = big_maps()
a = np.ones(256 * 2**20 // 8)
print(len(big_maps() - before))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc and /proc only")
@pytest.mark.parametrize(("mode", "new_maps"), [("default", 1), ("keep", 0)])
def test_large_arrays_come_from_the_heap_once_set(mode: str, new_maps: int) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) == new_maps
