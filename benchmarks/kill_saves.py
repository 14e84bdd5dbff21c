"""``kill -9`` during saves: how many files are left broken, how many temp files stale.

    PYTHONPATH=src python benchmarks/kill_saves.py [--trials 100]

Half the trials kill a process training with ``ModelCheckpoint(save_freq=1)`` (a
whole-model save after every batch), half one running a loop of ``model.save`` and
``model.save_weights``; each is killed after a random delay (0.05-0.6 s after it
started saving). After each kill the files are loaded: a file that exists and does
not load is "broken". Temp files (``.<name>.*.tmp``) present after a kill are
counted, and the next trial's first save must remove them: "stale" counts those
still there after the last trial's successful final save.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CHILD = textwrap.dedent(
    """
    import sys, numpy as np, xpnet as xn
    folder, mode = sys.argv[1], sys.argv[2]
    xn.set_seed(0)
    model = xn.Sequential([xn.Input(shape=(64,)), xn.layers.Dense(512, activation="relu"),
                           xn.layers.Dropout(0.2), xn.layers.Dense(512),
                           xn.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((4096, 64)).astype(np.float32)
    y = np.arange(4096) % 10
    print("ready", flush=True)
    if mode == "checkpoint":
        cb = xn.callbacks.ModelCheckpoint(folder + "/ckpt.xpnet", save_freq=1)
        model.fit(x, y, batch_size=32, epochs=100, verbose=0, callbacks=[cb])
    else:
        while True:
            model.save(folder + "/loop.xpnet")
            model.save_weights(folder + "/loop.weights.npz")
    """
)

FINAL = textwrap.dedent(
    """
    import sys, xpnet as xn
    folder = sys.argv[1]
    m = xn.Sequential([xn.Input(shape=(64,)), xn.layers.Dense(512, activation="relu"),
                       xn.layers.Dropout(0.2), xn.layers.Dense(512),
                       xn.layers.Dense(10, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    for name in ("ckpt.xpnet", "loop.xpnet"):
        m.save(folder + "/" + name)
    m.save_weights(folder + "/loop.weights.npz")
    """
)

CHECK = textwrap.dedent(
    """
    import sys, xpnet as xn
    folder = sys.argv[1]
    broken = 0
    m = None
    for name in ("ckpt.xpnet", "loop.xpnet", "loop.weights.npz"):
        p = folder + "/" + name
        try:
            if name.endswith(".xpnet"):
                m = xn.models.load_model(p)
            elif m is not None:
                m.load_weights(p)
        except FileNotFoundError:
            pass
        except Exception as err:
            broken += 1
            print("BROKEN", name, type(err).__name__, err, file=sys.stderr)
    print(broken)
    """
)


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp())
    env = dict(os.environ)
    broken = temp_after_kill = max_temp = 0
    t0 = time.time()
    for trial in range(args.trials):
        mode = "checkpoint" if trial % 2 == 0 else "loop"
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder), mode],
            stdout=subprocess.PIPE,
            env=env,
        )
        proc.stdout.readline()  # "ready": imports done, saving starts now
        time.sleep(rnd.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        left = temps(folder)
        temp_after_kill += bool(left)
        max_temp = max(max_temp, len(left))
        out = subprocess.run(
            [sys.executable, "-c", CHECK, str(folder)], capture_output=True, text=True, env=env
        )
        n = int(out.stdout.strip() or "1")
        broken += n
        if n:
            print(f"trial {trial} ({mode}): {out.stderr.strip()[:300]}")
    subprocess.run([sys.executable, "-c", FINAL, str(folder)], check=True, env=env)
    stale = temps(folder)
    print(
        f"kill -9 trials: {args.trials} ({args.trials - args.trials // 2} ModelCheckpoint"
        f"(save_freq=1), {args.trials // 2} save loop) in {time.time() - t0:.0f} s\n"
        f"broken files after a kill: {broken}\n"
        f"trials leaving temp files right after the kill: {temp_after_kill} (at most "
        f"{max_temp} at once, each removed by the next save)\n"
        f"stale temp files after the final save: {len(stale)}"
    )


if __name__ == "__main__":
    main()
