#!/usr/bin/env bash
# The Debian package of a CUDA build, on the GPU machine: builds the CLI (PONET_BUILD_GUI=OFF) against PyTorch's
# CUDA LibTorch from pip, runs `cpack -G DEB`, unpacks the package into a scratch root with `dpkg -x` and runs the
# installed `ponet` from there: --version, --help, and the self-test on the GPU, which reads the golden vectors from
# the installed share/ponet-studio (so it proves the installed layout and the LibTorch runtime path together).
# Usage on the device machine, from the repository root: bash tests/gpu/package-cuda.sh [OUT_DIR]
# Writes to OUT_DIR: package-cuda.log, configure/build/cpack logs, control.txt, contents.txt, runpath.txt,
# selftest.log and the .deb itself.
set -euo pipefail
out=${1:-${OUT:-/tmp/ponet-package-cuda}}
mkdir -p "$out"
exec > >(tee "$out/package-cuda.log") 2>&1
start=$(date +%s)
echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch.compiled_with_cxx11_abi())'
for tool in cmake ninja cpack dpkg-deb; do command -v "$tool" >/dev/null || { echo "missing: $tool"; exit 1; }; done
command -v dpkg-shlibdeps >/dev/null || echo "note: dpkg-shlibdeps (dpkg-dev) is missing: Depends falls back to the C/C++ runtime"

prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
build=${PONET_PACKAGE_BUILD:-build-package-cuda}  # PONET_PACKAGE_BUILD=build-gpu reuses a configured CUDA build
echo "== configure ($prefix)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
      -DCMAKE_PREFIX_PATH="$prefix" -DPONET_WITH_CUDA=ON -DPONET_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_ARCHITECTURES=90 \
      >"$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
grep -E "PoNet:" "$out/configure.log" || true
echo "== build"
cmake --build "$build" -j"$(nproc)" >"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head -40; exit 1; }
echo "configure + build: $(( $(date +%s) - start )) s"

echo "== cpack"
t=$(date +%s)
rm -rf "$out/package"
if ! (cd "$build" && cpack -G DEB -B "$out/package") >"$out/cpack.log" 2>&1; then
  # dpkg-shlibdeps may not resolve every CUDA library; then name only the C/C++ runtime and say so.
  grep -q "dpkg-shlibdeps" "$out/cpack.log" || { cat "$out/cpack.log"; exit 1; }
  echo "note: dpkg-shlibdeps failed (see cpack-shlibdeps.log); packaging with PONET_PACKAGE_SHLIBDEPS=OFF"
  mv "$out/cpack.log" "$out/cpack-shlibdeps.log"
  cmake "$build" -DPONET_PACKAGE_SHLIBDEPS=OFF >>"$out/configure.log" 2>&1
  (cd "$build" && cpack -G DEB -B "$out/package") >"$out/cpack.log" 2>&1 || { cat "$out/cpack.log"; exit 1; }
fi
cp "$(ls "$out"/package/*.deb)" "$out/"
deb=$(ls "$out"/*.deb)  # the copy: the cpack folder is removed below
echo "cpack: $(( $(date +%s) - t )) s, $(basename "$deb"), $(stat -c %s "$deb") bytes"
dpkg-deb -I "$deb" | tee "$out/control.txt"
dpkg-deb -c "$deb" >"$out/contents.txt"
rm -rf "$out/package"

echo "== dpkg -x into a scratch root, run from there"
root=$(mktemp -d)
dpkg -x "$deb" "$root"
readelf -d "$root/usr/bin/ponet" | grep -E "RUNPATH|RPATH|NEEDED" | tee "$out/runpath.txt"
# No environment from the build: the RUNPATH must find LibTorch and the installed layout everything else.
run() { env -i PATH=/usr/bin:/bin HOME="$root" LANG=C.UTF-8 "$@"; }
run "$root/usr/bin/ponet" --version
run "$root/usr/bin/ponet" --help | head -5
zcat "$root/usr/share/man/man1/ponet.1.gz" | head -3
rc=0
run "$root/usr/bin/ponet" selftest --device cuda >"$out/selftest.log" 2>&1 || rc=$?
grep -E "^FAIL" "$out/selftest.log" | head -20 || true
tail -1 "$out/selftest.log"
echo "== total $(( $(date +%s) - start )) s, selftest exit $rc"
rm -rf "$root"
exit $rc
