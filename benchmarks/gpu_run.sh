#!/usr/bin/env bash
# What a machine with an NVIDIA GPU checks (CUDA's nvcc, torch with CUDA, and mctrt's dependencies and
# its build's, scikit-build-core and pybind11, installed: nothing is downloaded): build with the CUDA
# module, run the gpu tests and the torch backend's, then the benchmarks that have GPU tables. Logs go
# to LOGS (default: ./gpu-logs); results to benchmarks/results/*_<gpu>.json.
#
#   MCTRT_ASSETS=../shared bash benchmarks/gpu_run.sh [build] [tests] [detector] [embedder] [pipeline] [cameras]   # default: all
#
# MCTRT_CUDA_ARCHITECTURES narrows the build to the GPU at hand (e.g. 90 for an H100/H200: faster).
set -u
cd "$(dirname "$0")/.."
LOGS=${LOGS:-gpu-logs}
mkdir -p "$LOGS"
steps=${*:-build tests detector embedder pipeline cameras}
status=0
step() {  # step NAME SECONDS COMMAND...: run it with a time limit, log it, remember a failure
  local name=$1 limit=$2
  shift 2
  echo "== $name: $*"
  local start=$SECONDS
  timeout "$limit" "$@" > "$LOGS/$name.log" 2>&1
  local rc=$?
  tail -n 40 "$LOGS/$name.log"
  echo "== $name: rc $rc in $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || status=1
}
export PYTHONUNBUFFERED=1
for s in $steps; do
  case $s in
    build) step build 240 env MCTRT_CUDA=ON python3 -m pip install --no-deps --no-build-isolation --no-index .
           step info 60 python3 -m mctrt.info ;;
    tests) step tests 180 python3 -m pytest -p no:cacheprovider -q -rs tests/gpu tests/integration/test_backends.py \
             tests/integration/test_tensorrt.py tests/unit/test_info.py \
             tests/integration/test_build_options.py::test_the_installed_modules_export_their_entry_point_alone ;;
    detector) step detector 240 python3 benchmarks/bench_detector.py --no-int8 ;;
    embedder) step embedder 120 python3 benchmarks/bench_embedder.py --varying ;;
    pipeline) step pipeline 300 python3 benchmarks/bench_pipeline.py ;;
    cameras) step cameras 300 python3 benchmarks/bench_cameras.py --cameras 2,8,16,32,64 --steps 60 ;;
    *) echo "unknown step '$s': build, tests, detector, embedder, pipeline or cameras"; exit 2 ;;
  esac
done
exit $status
