#!/usr/bin/env bash
# The GPU check, run on a lent CUDA machine by the device tool from the repository root:
#   ../shared/device/prepare-wheels.sh        # once, here: wheels the GPU box lacks -> .whl/
#   run(command="bash .ci/gpu-check.sh", carry=[".whl"], timeout_s=420)
# It installs the carried wheels into a temporary folder (the box has no package registry),
# then runs, each under its own time limit so one slow stage cannot eat the others:
#   the test suite on cupy and on torch-cuda (pytest-xdist, which the box has), the
#   reference suite on cupy, the digits demo on cupy, and the GPU benchmarks (the MLP
#   epoch and one step at batch 1, cupy vs torch-cuda; the CNN step, cupy vs torch-cuda;
#   the MLP epoch on the torch backend on cuda vs native torch-cuda).
# Logs go to $OUT (one file per stage) and a one-line verdict per stage to $OUT/summary.txt.
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
site=$(mktemp -d)
python3 -m pip install -q --no-index --no-deps --no-compile --target "$site" .whl/*.whl \
  > "$OUT/pip.log" 2>&1 || { echo "pip install of .whl failed" | tee "$OUT/summary.txt"; exit 1; }
export PYTHONPATH="$site:$PWD/src"
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# JAX is on the box: keep it off the GPU (it would take 75% of its memory per process)
export JAX_PLATFORMS=cpu XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi -L > "$OUT/gpu.txt" 2>&1
python3 -c "import cupy, torch, numpy; print('cupy', cupy.__version__, 'torch', torch.__version__, 'numpy', numpy.__version__)" >> "$OUT/gpu.txt" 2>&1
WORKERS=${WORKERS:-8}

stage() {  # stage NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local tail_line
  tail_line=$(grep -E "passed|failed|error|ratio|accuracy| / " "$OUT/$name.log" | tail -n 1)
  printf '%-18s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - t0))" "$tail_line" >> "$OUT/summary.txt"
}

PYTEST=(python3 -m pytest -q -p no:cacheprovider -n "$WORKERS" --maxfail=25 -rfEs)
stage tests-cupy 150 env XPNET_BACKEND=cupy "${PYTEST[@]}" tests \
  --ignore=tests/reference --ignore=tests/test_examples.py
stage tests-torch_cuda 90 env XPNET_BACKEND=torch XPNET_DEVICE=cuda "${PYTEST[@]}" tests \
  --ignore=tests/reference --ignore=tests/test_examples.py
stage reference-cupy 40 env XPNET_BACKEND=cupy "${PYTEST[@]}" tests/reference
stage demo-cupy 25 python3 examples/digits_mlp.py --backend cupy --min-accuracy 0.97
stage bench-mlp-cupy 50 python3 benchmarks/bench_mlp.py --backend cupy --workload 1 \
  --workload 3 --rounds 3
stage bench-cnn-cupy 25 python3 benchmarks/bench_cnn.py --backend cupy --blocks 3 --steps 20
stage bench-torch-cuda 20 python3 benchmarks/bench_mlp.py --backend torch:cuda --workload 7 \
  --rounds 3
cat "$OUT/summary.txt"
