"""Load every hostile model file (tests/hostile_files.py); time and peak memory of each.

    PYTHONPATH=src python benchmarks/hostile_load.py [--no-fields]

Prints, per outcome, how many files loaded, raised LoadError, raised something else,
and the worst time and peak resident memory above the process's resident size
before that load (Linux: VmHWM after resetting it through /proc/self/clear_refs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import xpnet as xn
from hostile_files import hostile_files
from xpnet.saving import LoadError


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-fields", action="store_true", help="skip the field-level mutations")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp())
    files = hostile_files(folder, fields=not args.no_fields)
    counts = {"loaded": 0, "LoadError": 0, "other": 0}
    others, worst_t, worst_m = [], (0.0, ""), (0, "")
    for name, path in files.items():
        ok = _reset_peak()
        base = _status("VmRSS")
        t0 = time.perf_counter()
        try:
            xn.models.load_model(path)
            outcome = "loaded"
        except LoadError:
            outcome = "LoadError"
        except Exception as err:
            outcome = "other"
            others.append(f"{name}: {type(err).__name__}: {err}"[:300])
        dt = time.perf_counter() - t0
        peak = (_status("VmHWM") - base) if ok else 0
        counts[outcome] += 1
        worst_t = max(worst_t, (dt, name))
        worst_m = max(worst_m, (peak, name))
        if outcome == "loaded" and name != "good":
            print(f"  loaded: {name}")
    print(f"hostile files: {len(files)}  {counts}")
    print(f"worst time: {worst_t[0]:.3f} s ({worst_t[1]})")
    print(f"worst peak RSS above baseline: {worst_m[0] / 2**20:.1f} MiB ({worst_m[1]})")
    for line in others:
        print("  other:", line)


if __name__ == "__main__":
    main()
