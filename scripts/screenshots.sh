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
  # The prepared content (runs, tokenizer, benchmark cache), without any settings an earlier picture left.
  if [[ -d "$content/home" ]]; then cp -a "$content/home/." "$scratch/home/"; rm -rf "$scratch/home/.config"; fi
  export HOME=$scratch/home XDG_RUNTIME_DIR=$scratch/runtime
}
xvfb=(xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp")
content=$scratch/content

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

# ---- Real content for the pages, made with the real tools before any picture is taken: demo documents of two
# topics, a SentencePiece tokenizer trained on them, a classifier fine-tuned on them, a finished ListOps run and a
# second one beside it, and a small CPU benchmark. It lives in its own home, copied into each picture's fresh home.
ponet=$build/ponet
[[ -x "$ponet" ]] || cmake --build "$build" --target ponet
content=$scratch/content
demo_docs() {  # demo_docs DIR SEED COUNT: one folder per topic, COUNT short documents each
  local dir=$1 seed=$2 count=$3
  awk -v dir="$dir" -v seed="$seed" -v count="$count" 'BEGIN {
    srand(seed)
    split("the a this every our their one each", det, " ")
    topic["cooking"] = "onion garlic butter pan oven flour sauce simmer roast knead dough salt pepper recipe kitchen stir bake slice tomato basil"
    topic["astronomy"] = "star planet orbit telescope galaxy comet moon nebula light year gravity eclipse crater sky observatory spectrum dwarf cluster sun"
    verbs = "shows needs makes follows reaches turns holds brings finds keeps"
    nv = split(verbs, v, " ")
    for (t in topic) {
      nw = split(topic[t], w, " ")
      system("mkdir -p \"" dir "/" t "\"")
      for (d = 1; d <= count; d++) {
        file = sprintf("%s/%s/%s-%02d.txt", dir, t, t, d)
        n = 3 + int(rand() * 4)
        text = ""
        for (k = 0; k < n; k++) {
          s = det[1 + int(rand() * 8)] " " w[1 + int(rand() * nw)] " " v[1 + int(rand() * nv)] " the " w[1 + int(rand() * nw)] " and " w[1 + int(rand() * nw)]
          text = text toupper(substr(s, 1, 1)) substr(s, 2) ". "
        }
        print text > file
        close(file)
      }
    }
  }'
}
prepare_content() {
  local start=$SECONDS
  rm -rf "$content"
  mkdir -p "$content/home" "$content/docs"
  export HOME=$content/home XDG_RUNTIME_DIR=$scratch/runtime
  local runs=$HOME/.local/share/ponet-studio/runs
  mkdir -p "$runs"
  demo_docs "$content/docs/train" 7 60
  demo_docs "$content/docs/inbox" 99 6
  cp "$content/docs/inbox/astronomy/astronomy-01.txt" "$content/docs/document.txt"
  "$ponet" tokenize --train-spm "$content/docs/train" --name demo-topics-bpe300 --model-type bpe --vocab-size 300 2>/dev/null
  local spm=$HOME/.local/share/ponet-studio/tokenizers/demo-topics-bpe300
  "$ponet" finetune --preset tiny --run-dir "$runs/topics-classifier" --set data.dataset="$content/docs/train" \
    --set data.tokenizer="$spm" --set model.max_length=128 --set train.max_steps=150 --set train.warmup_steps=10 --set train.lr=5e-3 \
    --set train.eval_every=25 --set train.batch_size=16 --set train.device=cpu >/dev/null
  "$ponet" lra --preset tiny-listops --run-dir "$runs/listops-demo" --set train.max_steps=200 \
    --set train.device=cpu >/dev/null
  "$ponet" lra --preset tiny-listops --run-dir "$runs/listops-lr3e-3" --set train.max_steps=200 --set train.lr=3e-3 \
    --set train.device=cpu >/dev/null
  # The Benchmark page's default setting on a CPU (lra-text, train, batch 4): the page shows it from the cache.
  "$ponet" bench --device cpu --preset lra-text --batch 4 --lens 256,512,1024 --steps 2 --warmup 1 >/dev/null 2>&1
  echo "content: tokenizer, classifier, two ListOps runs, CPU benchmark ($((SECONDS - start)) s)"
}
prepare_content
runs_dir=$scratch/home/.local/share/ponet-studio/runs  # where fresh_home copies them

# Arguments that make a page show what its picture is for; a page not listed here opens as it is. Add a line when
# a page needs one, never a special case in the app.
declare -A page_args=(
  [data]="--import $content/docs/train"
  [train]="--open-run $runs_dir/listops-demo"
  [runs]="--open-run $runs_dir/listops-demo --open-run $runs_dir/listops-lr3e-3"
  [explore]="--explore-model $runs_dir/topics-classifier --explore-document $content/docs/document.txt"
  [classify]="--classify-model $runs_dir/topics-classifier --classify $content/docs/inbox"
  [selftest]="--run-selftest"
  [race]="--race 60"
)
# Extra pictures that are not a page of their own: "file.png|arguments".
extra_shots=(
  "studio-about.png|--preferences"
  "studio-model-tokenizer.png|--page model --model-section tokenizer --import $content/docs/train"
  "studio-model-cost.png|--page model --model-section cost --model $root/resources/models/ponet-tiny"
  "studio-train-distributed.png|--train --train-processes 2 --screenshot-at-step 60"
)

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
