"""Helpers shared by the benchmark scripts: threads, glibc's freed memory, interleaved medians.

Import this module BEFORE NumPy: :func:`set_threads` must run before NumPy loads its BLAS.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None

FAULTS: dict[str, list[float]] = {}  # minor page faults per call, by competitor (last run)


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0


def set_threads(n: int) -> None:
    """BLAS / OpenMP thread count for NumPy (call before importing NumPy).

    JAX's CPU backend runs its own thread pool over every core; for ``n == 1`` its XLA
    flags ask for one thread too (read when JAX first loads)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    if n == 1 and "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()


def keep_freed_memory() -> bool:
    """Stop glibc from returning freed memory to the OS (for the whole process).

    A training step frees its activations at the end of backward; glibc trims that
    memory from the heap and the next step page-faults it back in. On the shared
    benchmark VM a page fault costs ~4 us and a NumPy CNN step takes over a thousand,
    so timings depend on the allocator more than on the code. ``mallopt`` with a
    32 MiB mmap threshold and a 1 GiB trim threshold keeps freed memory for reuse;
    competitors in the same process (PyTorch too) share the setting.
    Returns whether glibc accepted it.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok_mmap = libc.mallopt(m_mmap_threshold, 32 << 20)
    ok_trim = libc.mallopt(m_trim_threshold, 1 << 30)
    return bool(ok_mmap) and bool(ok_trim)


def median(values) -> float:
    return float(statistics.median(values))


def run_interleaved(
    competitors: dict[str, Callable[[], object]],
    blocks: int,
    steps: int,
    warmup: int,
    by_step: bool = True,
) -> dict[str, list[float]]:
    """Median seconds per call of each competitor, one value per block.

    ``by_step``: alternate competitors at every call (same machine load for all);
    otherwise alternate whole blocks (each runs ``steps`` calls in a row, so one
    competitor's allocations do not land between another's).
    """
    for fn in competitors.values():
        for _ in range(warmup):
            fn()
    results: dict[str, list[float]] = {name: [] for name in competitors}
    faults: dict[str, list[float]] = {name: [] for name in competitors}
    for _ in range(blocks):
        times: dict[str, list[float]] = {name: [] for name in competitors}
        if by_step:
            for _ in range(steps):
                for name, fn in competitors.items():
                    f0, t0 = _minor_faults(), time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - t0)
                    faults[name].append(_minor_faults() - f0)
        else:
            for name, fn in competitors.items():
                fn()
                for _ in range(steps):
                    f0, t0 = _minor_faults(), time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - t0)
                    faults[name].append(_minor_faults() - f0)
        for name in competitors:
            results[name].append(median(times[name]))
    FAULTS.clear()
    FAULTS.update(faults)
    return results


def print_table(results: dict[str, list[float]], base: str, width: int = 14) -> None:
    """Block medians, their median, and the median ratio to ``base`` per block."""
    blocks = len(next(iter(results.values())))
    head = "".join(f"  block{i + 1:<3d}" for i in range(blocks))
    faults = FAULTS if set(FAULTS) == set(results) else {}
    print(f"{'':{width}s}{head}    median  ratio" + ("  faults" if faults else ""))
    for name, meds in results.items():
        ratios = [m / b for m, b in zip(meds, results[base])]
        cells = "".join(f"  {m * 1e3:6.2f}ms" for m in meds)
        extra = f"  {median(faults[name]):6.0f}" if faults else ""
        print(f"{name:{width}s}{cells}  {median(meds) * 1e3:6.2f}ms  {median(ratios):5.2f}x{extra}")
    print(f"(ratio = median over blocks of the block median / {base}'s block median", end="")
    print("; faults = median minor page faults per call)" if faults else ")")


def print_ratio(
    results: dict[str, list[float]],
    name: str,
    base: str,
    target: str | None = None,
    label: str | None = None,
) -> None:
    """One line: the median over blocks of ``name``'s block median / ``base``'s, with its
    range over blocks and the target where one is set; nothing where either did not run."""
    if name not in results or base not in results:
        return
    ratios = [a / b for a, b in zip(results[name], results[base])]
    line = f"{label or f'{name} / {base}'}: {median(ratios):.2f}x"
    line += f" (blocks {min(ratios):.2f}-{max(ratios):.2f}x)"
    print(line + (f"   target {target}" if target else ""))
