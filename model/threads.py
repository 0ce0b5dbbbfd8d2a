"""Thread limits for the numpy forward: DIFFILL_THREADS reaches numpy's OpenBLAS too.

numpy reads OPENBLAS_NUM_THREADS only when it is first imported, which happens long before a
denoiser is built; OpenBLAS's own setter changes the limit at any time. numpy's wheels ship
OpenBLAS under numpy.libs with prefixed symbols, other builds under the plain names.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")


def blas_libraries() -> list[Path]:
    import numpy as np

    site = Path(np.__file__).resolve().parent.parent
    wheel_libs = sorted((site / "numpy.libs").glob("*openblas*.so*"))  # Linux wheels
    return wheel_libs + sorted(site.glob("numpy/.dylibs/*openblas*"))  # macOS wheels


def limit_blas_threads(threads: int) -> bool:
    """Set numpy's BLAS thread count; False when no known BLAS library was found."""
    for path in blas_libraries():
        try:
            lib = ctypes.CDLL(str(path))  # numpy loaded it already: the same handle
        except OSError:
            continue
        for name in SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                return True
    return False


def apply_thread_setting() -> int | None:
    """DIFFILL_THREADS applied to numpy's BLAS; the count, or None when unset."""
    raw = os.environ.get("DIFFILL_THREADS")
    if not raw:
        return None
    limit_blas_threads(int(raw))
    return int(raw)


def share_cores(processes: int) -> int:
    """BLAS threads per process when `processes` numpy forwards run at once; applied here.

    DIFFILL_THREADS, when set, wins. Otherwise each process gets its share of the cores: with
    OpenBLAS's default (every core) in each, two processes on two cores oversubscribe them
    and every pass waits on the other's threads.
    """
    raw = os.environ.get("DIFFILL_THREADS")
    threads = int(raw) if raw else max(1, (os.cpu_count() or 1) // max(processes, 1))
    limit_blas_threads(threads)
    return threads
