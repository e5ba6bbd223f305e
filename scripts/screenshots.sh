#!/usr/bin/env bash
# Regenerates every screenshot of the documentation from the real application, under Xvfb at 1280×800, with one
# command. It asks the app for its page ids (`ponet-studio --list-pages`), so a page added to the main window is
# pictured without touching this script; each picture is taken by the app itself once it is idle (--screenshot).
# Usage: scripts/screenshots.sh [OUT_DIR]        (default: docs/images; PONET_BUILD_DIR picks the build tree)
# Needs: a built ponet-studio (built here if missing), xvfb-run and ImageMagick (scripts/setup-deps.sh --tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PONET_BUILD_DIR:-$root/build}
out=${1:-$root/docs/images}
app=$build/ponet-studio

for tool in xvfb-run identify; do
  command -v "$tool" >/dev/null || { echo "screenshots: '$tool' is missing; run scripts/setup-deps.sh --tests" >&2; exit 1; }
done
if [[ ! -x "$app" ]]; then
  [[ -f "$build/CMakeCache.txt" ]] || "$root/scripts/build.sh"
  cmake --build "$build" --target ponet-studio
fi
mkdir -p "$out"

# Arguments that make a page show what its picture is for; a page not listed here opens as it is. Add a line when
# a page needs one (e.g. a demo document or a finished run), never a special case in the app.
declare -A page_args=(
  [selftest]="--run-selftest"
  [race]="--race 60"
)
# Extra pictures that are not a page of their own: "file.png|arguments".
extra_shots=(
  "studio-about.png|--preferences"
)

# A fixed scratch folder when free, so the folders the pictures show read the same every time.
scratch=/tmp/ponet-screenshots
mkdir "$scratch" 2>/dev/null || scratch=$(mktemp -d /tmp/ponet-screenshots.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# Every picture starts from an empty home (settings, data, cache after the XDG defaults under it), so nothing of
# the user's own shows up; the resources come from this source tree.
export PONET_RESOURCES_DIR=$root/resources
export QT_QPA_PLATFORM=xcb
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
unset XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME PONET_DATA_DIR PONET_RUNS_DIR
fresh_home() {
  rm -rf "$scratch/home" "$scratch/runtime"
  mkdir -p "$scratch/home" "$scratch/runtime"
  chmod 700 "$scratch/runtime"
  export HOME=$scratch/home XDG_RUNTIME_DIR=$scratch/runtime
}
xvfb=(xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp")

shoot() {
  local file=$1; shift
  fresh_home
  local start=$SECONDS
  # A full self-test on every device fits in 15 minutes; the app itself gives up waiting at that point.
  if ! timeout 1000 "${xvfb[@]}" "$app" "$@" --screenshot "$out/$file" >"$scratch/shot.log" 2>&1; then
    cat "$scratch/shot.log" >&2
    echo "screenshots: $file failed (ponet-studio $*)" >&2
    return 1
  fi
  echo "$file: $(identify -format '%wx%h, %k colours' "$out/$file") ($((SECONDS - start)) s)"
}

fresh_home
mapfile -t pages < <("${xvfb[@]}" "$app" --list-pages 2>/dev/null)
((${#pages[@]} > 0)) || { echo "screenshots: ponet-studio --list-pages printed no pages" >&2; exit 1; }
echo "pages: ${pages[*]}"
failed=0
for id in "${pages[@]}"; do
  # shellcheck disable=SC2086  # page_args holds several words on purpose
  shoot "studio-$id.png" --page "$id" ${page_args[$id]:-} || failed=1
done
for shot in "${extra_shots[@]}"; do
  # shellcheck disable=SC2086
  shoot "${shot%%|*}" ${shot#*|} || failed=1
done
exit $failed
