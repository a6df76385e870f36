#!/usr/bin/env bash
# One-shot GPU check for a lent machine without Deno and without network.
# Needs the working tree plus the carry folder built by bench/gpu_check_pack.sh
# (scratch/gpu_carry: xz'd Deno, onnxruntime-web's /webgpu files, fflate,
# breastmnist.npz). Steps, each under its own time limit (under 9.5 minutes in all):
#   1. machine: Vulkan ICDs, GPUs           4. train/eval img/s, three backbones
#   2. the WebGPU adapter Deno sees          5. a short BreastMNIST run
#   3. the webgpu tests (reference: wasm)
# Everything goes to one results file, $OUT/gpu_check.txt (else scratch/gpu_check/).
# Measurements are `RESULT {json}` lines.
#
# Rehearsal on a software adapter (tiny sizes):
#   GPU_CHECK_SIZE=28 GPU_CHECK_BATCH=8 GPU_CHECK_STEPS=1 GPU_CHECK_EPOCHS=1 \
#     GPU_CHECK_MAX_STEPS=2 GPU_CHECK_LIMIT_SCALE=8 bench/gpu_check.sh
# On the lent machine: bench/gpu_check.sh with scratch/gpu_carry carried (run's timeout_s 600).
set -uo pipefail
cd "$(dirname "$0")/.."
carry="${GPU_CARRY:-scratch/gpu_carry}"
out_dir="${OUT:-scratch/gpu_check}"
mkdir -p "$out_dir"
results="$out_dir/gpu_check.txt"
size="${GPU_CHECK_SIZE:-224}"
batch="${GPU_CHECK_BATCH:-32}"
steps="${GPU_CHECK_STEPS:-5}"
epochs="${GPU_CHECK_EPOCHS:-8}"
max_steps="${GPU_CHECK_MAX_STEPS:-}"
run_seconds="${GPU_CHECK_RUN_SECONDS:-100}"
scale="${GPU_CHECK_LIMIT_SCALE:-1}" # multiplies every step's time limit (rehearsals on llvmpipe)
: >"$results"

log() { echo "$*" | tee -a "$results"; }
# step NAME LIMIT_S CMD...: run with its own time limit; output and outcome go to the results file.
step() {
  local name="$1" limit=$(($2 * scale))
  shift 2
  log "== $name (limit ${limit} s)"
  local t0=$SECONDS
  timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$results"
  local rc=${PIPESTATUS[0]}
  local verdict=ok
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && verdict="TIMED OUT"
  [ "$rc" -ne 0 ] && [ "$verdict" = ok ] && verdict="FAILED"
  log "== $name: $verdict (rc $rc, $((SECONDS - t0)) s)"
  echo "RESULT {\"kind\":\"step\",\"step\":\"$name\",\"rc\":$rc,\"seconds\":$((SECONDS - t0))}" >>"$results"
}
unxz_to() { # unxz_to SRC.xz DEST: xz, else Python's lzma
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"
  fi
}

log "medtune GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), size $size px, batch $batch, $steps steps"
log "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

# Deno and the vendored modules.
if [ ! -d "$carry" ]; then
  log "no carry folder at $carry: build it with bench/gpu_check_pack.sh and carry it"
  exit 1
fi
# Unpack outside the carry folder, so that it stays under the 64 MiB a run may carry.
work="${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/medtune_gpu_check}"
mkdir -p "$work/bin"
cp -r "$carry/vendor" "$carry/import_map.json" "$work/"
deno="$work/bin/deno"
[ -x "$deno" ] || { unxz_to "$carry/bin/deno.xz" "$deno.tmp" && chmod +x "$deno.tmp" && mv "$deno.tmp" "$deno"; }
wasm="$work/vendor/onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm"
[ -f "$wasm" ] || { unxz_to "$wasm.xz" "$wasm.tmp" && mv "$wasm.tmp" "$wasm"; }
export DENO_DIR="${DENO_DIR:-$work/deno_dir}" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/medtune-xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export MEDTUNE_DATA_DIR="$carry/data" MEDTUNE_REFERENCE_BACKEND=wasm
log "deno: $("$deno" --version | head -1)"
# --no-config: the repository's deno.json maps to npm: specifiers, which need a registry.
dflags=(-A --no-check --cached-only --no-config --import-map "$work/import_map.json")
drun=("$deno" run "${dflags[@]}" bench/gpu_check.ts)

step machine 15 bash -c 'uname -a; (nvidia-smi -L || echo "no nvidia-smi"); for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do echo "$d:"; ls -l "$d" 2>&1; done; ls /dev/dri 2>&1 | head; (vulkaninfo --summary 2>/dev/null | head -40 || true)'
step adapter 30 "${drun[@]}" adapter
if [ -z "${DENO_WEBGPU_BACKEND:-}" ]; then
  step adapter-vulkan 30 env DENO_WEBGPU_BACKEND=vulkan "${drun[@]}" adapter
fi
if [ "${GPU_CHECK_TESTS:-1}" != 0 ]; then
  # MEDTUNE_GPU_CHECK=1 leaves out the CLI test (its report needs chart.js and a canvas).
  step tests 180 env MEDTUNE_GPU_CHECK=1 "$deno" test "${dflags[@]}" \
    tests/webgpu_test.ts tests/webgpu_readback_test.ts tests/webgpu_study_test.ts
fi
for b in resnet18 efficientnet_b0 vit_tiny; do
  step "bench-$b" 50 "${drun[@]}" bench --backbone "$b" --size "$size" --batch "$batch" --steps "$steps"
done
step breastmnist $((run_seconds + 40)) "${drun[@]}" breast --size "$size" --batch "$batch" \
  --epochs "$epochs" --seconds "$run_seconds" --data "$carry/data" ${max_steps:+--max-steps "$max_steps"}

log "== summary"
grep '^RESULT ' "$results" | sed 's/^RESULT //' | tee "$out_dir/gpu_check.jsonl"
echo "results: $results"
