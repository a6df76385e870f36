#!/usr/bin/env bash
# Builds the folder a GPU machine without Deno and without network needs to
# run bench/gpu_check.sh from the working tree: an xz-compressed Deno binary,
# onnxruntime-web's /webgpu entry (its WebGPU+wasm binary xz-compressed),
# fflate, the BreastMNIST file and an import map that points the bare
# specifiers there (run with --no-config --import-map: no npm resolution). Prints the size; the device tool carries at most 64 MiB.
#
#   bench/gpu_check_pack.sh [OUT_DIR]      (default scratch/gpu_carry)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-scratch/gpu_carry}"
data_dir="${MEDTUNE_DATA_DIR:-$(cd .. && pwd)/shared/data}"

# The real binary behind .tools/node_modules/.bin/deno (npm's deno package).
deno_bin="$(readlink -f "$(command -v deno || echo .tools/node_modules/.bin/deno)")"
[ -x "$deno_bin" ] || { echo "gpu_check_pack: no deno binary found (run .ci/run once)" >&2; exit 1; }
ort="node_modules/onnxruntime-web/dist"
fflate="node_modules/fflate/esm/browser.js"
if [ ! -f "$ort/ort.webgpu.bundle.min.mjs" ] || [ ! -f "$fflate" ]; then
  deno cache mod.ts >/dev/null  # fills node_modules (nodeModulesDir: auto)
fi
[ -f "$data_dir/breastmnist.npz" ] || {
  echo "gpu_check_pack: $data_dir/breastmnist.npz is missing; set MEDTUNE_DATA_DIR" >&2
  exit 1
}

rm -rf "$out"
mkdir -p "$out/bin" "$out/vendor/onnxruntime-web" "$out/vendor/fflate" "$out/data"
if [ ! -f "scratch/deno.xz.cache" ] || [ "$deno_bin" -nt "scratch/deno.xz.cache" ]; then
  xz -9 -T1 -c "$deno_bin" >"scratch/deno.xz.cache"
fi
cp "scratch/deno.xz.cache" "$out/bin/deno.xz"
cp "$ort/ort.webgpu.bundle.min.mjs" "$ort/ort-wasm-simd-threaded.asyncify.mjs" \
  "$out/vendor/onnxruntime-web/"
xz -9 -T1 -c "$ort/ort-wasm-simd-threaded.asyncify.wasm" \
  >"$out/vendor/onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm.xz"
cp "$fflate" "$out/vendor/fflate/browser.js"
cp "$data_dir/breastmnist.npz" "$out/data/"
# Only the specifiers the check imports; onnxruntime-node stays out (the cpu
# backend is then unavailable there, and the tests compare against wasm).
cat >"$out/import_map.json" <<'JSON'
{
  "imports": {
    "onnxruntime-web/webgpu": "./vendor/onnxruntime-web/ort.webgpu.bundle.min.mjs",
    "fflate": "./vendor/fflate/browser.js"
  }
}
JSON
bytes=$(du -sb "$out" | cut -f1)
echo "gpu carry: $out, $((bytes / 1024 / 1024)) MiB ($bytes bytes), limit 64 MiB"
[ "$bytes" -lt $((64 * 1024 * 1024)) ] || { echo "gpu_check_pack: over 64 MiB" >&2; exit 1; }
