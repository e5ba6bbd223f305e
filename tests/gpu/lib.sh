# Shared by the GPU-machine scripts in this folder; source it from the repository root.

# gpu_build OUT [BUILD_DIR]: configure and build `ponet` against PyTorch's CUDA LibTorch (no Qt there), the logs in
# OUT; on failure prints the reason and returns 1.
gpu_build() {
  local out=$1 build=${2:-build-gpu} prefix
  prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPONET_BUILD_GUI=OFF -DPONET_BUILD_TESTS=OFF \
        -DCMAKE_PREFIX_PATH="$prefix" -DPONET_WITH_CUDA=ON -DPONET_CUDA_ARCHITECTURES=90 \
        -DCMAKE_CUDA_ARCHITECTURES=90 > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; return 1; }
  cmake --build "$build" --target ponet -j16 > "$out/build.log" 2>&1 ||
    { grep -E "error" -A3 "$out/build.log" | head -40; return 1; }
}

# gpu_round_start OUT: the common start of a measuring round: OUT made, the card named, `ponet` built (gpu_build);
# on a failed build the logs are packed into OUT/results.tgz and the calling script exits. Sets t0 and p (the
# binary) and exports PONET_RESOURCES_DIR.
gpu_round_start() {
  mkdir -p "$1"
  t0=$(date +%s)
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  gpu_build "$1" || { (cd "$1" && tar -czf results.tgz --remove-files *.log); exit 1; }
  echo "build $(( $(date +%s) - t0 )) s"
  p=build-gpu/ponet
  export PONET_RESOURCES_DIR=$PWD/resources
}

# gpu_ponet OUT: build-gpu/ponet as carried from an earlier call when it runs here, else built (gpu_build) with a
# stripped copy left in OUT/ponet, for a later call to carry as build-gpu/ponet instead of building again.
gpu_ponet() {
  local out=$1 p=build-gpu/ponet
  if [ -x "$p" ] && "$p" --version > /dev/null 2>&1; then
    echo "carried $p: $("$p" --version | head -1)"
  else
    gpu_build "$out" && strip -o "$out/ponet" "$p"
  fi
}

# docs_pretrain PONET RUNS DATA MIXER STEPS LR SECONDS LOG: MLM + SSO pre-training of the `small` preset on
# DATA/pretrain.jsonl (BERT WordPiece, 1,024 tokens, batch 32, bf16, 10 % warm-up), stopped with Ctrl-C (which saves
# a checkpoint) after SECONDS at the latest; the run in RUNS/pretrain-MIXER.
docs_pretrain() {
  local p=$1 runs=$2 data=$3 mixer=$4 steps=$5 lr=$6 seconds=$7 log=$8
  timeout -s INT "$seconds" "$p" pretrain --preset small --set "data.train=$data/pretrain.jsonl" \
    --set "data.tokenizer=$data/vocab.txt" --set model.max_length=1024 \
    --set model.mixer="$mixer" --set train.device=cuda --set train.precision=bf16 --set train.batch_size=32 \
    --set train.max_steps="$steps" --set train.warmup_steps=$(( steps / 10 )) --set train.lr="$lr" \
    --set train.eval_every=500 --set train.eval_batches=20 --set train.checkpoint_every=500 \
    --set train.log_every=100 --set train.seed=1 --run-dir "$runs/pretrain-$mixer" > "$log" 2>&1
}

# docs_finetune PONET RUNS DATA NAME MIXER SEED SPLIT EPOCHS LR SECONDS LOG: a long-document classifier fine-tuned
# from RUNS/pretrain-MIXER on DATA/SPLIT/{train,dev,test}.jsonl; the run in RUNS/NAME-MIXER-SEED.
docs_finetune() {
  local p=$1 runs=$2 data=$3 name=$4 mixer=$5 seed=$6 dir=$7 epochs=$8 lr=$9 seconds=${10} log=${11}
  timeout -s INT "$seconds" "$p" finetune --set "model.init_checkpoint=$runs/pretrain-$mixer" \
    --set "data.train=$data/$dir/train.jsonl" --set "data.validation=$data/$dir/dev.jsonl" \
    --set "data.test=$data/$dir/test.jsonl" --set "data.tokenizer=$data/vocab.txt" --set model.max_length=1024 \
    --set train.device=cuda --set train.precision=bf16 --set train.batch_size=16 --set train.epochs="$epochs" \
    --set train.lr="$lr" --set train.warmup_steps=30 --set train.weight_decay=0.01 --set train.eval_every=30 \
    --set train.checkpoint_every=100000 --set train.log_every=30 --set train.seed="$seed" \
    --run-dir "$runs/$name-$mixer-$seed" > "$log" 2>&1
}

# listops_run PONET RUNS MIXER SEED TEST SECONDS LOG: the LRA ListOps preset with the longer schedule of
# docs/RESULTS.md (6,000 steps, OneCycle to 5e-4, 20 % warm-up; LISTOPS_STEPS and LISTOPS_LR change it), data
# seed 0 with TEST test examples.
listops_run() {
  local p=$1 runs=$2 mixer=$3 seed=$4 test=$5 seconds=$6 log=$7 steps=${LISTOPS_STEPS:-6000}
  timeout -s INT "$seconds" "$p" lra --preset lra-listops \
    --set data.dataset=listops:train=96000,dev=2000,test="$test",seed=0 --set train.device=cuda \
    --set train.max_steps="$steps" --set train.warmup_steps=$(( steps / 5 )) --set train.lr="${LISTOPS_LR:-5e-4}" \
    --set train.eval_every=250 --set train.checkpoint_every=100000 --set train.log_every=250 \
    --set train.seed="$seed" --set model.mixer="$mixer" --run-dir "$runs/listops-$mixer-$seed" > "$log" 2>&1
}

# bench NAME [ponet bench arguments]: one `ponet bench` run of a round script ($p the binary, $out the folder), its
# JSON in $out/NAME.json; prints the command and the result tables without the progress lines.
bench() {
  local name=$1; shift
  echo "== $name: ponet bench $*"
  timeout 150 "$p" bench "$@" --no-cache --json "${out:?}/$name.json" 2>&1 |
    grep -vE '^\s*$|^median of|^memory:|^device:|^  [a-z]+ at [0-9]+: [0-9.]+ steps|^ponet bench:|^wrote' | tail -6
}

# selftest_cuda LABEL [KERNELS]: `ponet selftest --device cuda --verbose` into $out/selftest-LABEL.log, with
# PONET_MIX_VECTOR=KERNELS when given; prints the exit code, the failures and the summary line.
selftest_cuda() {
  local log="${out:?}/selftest-$1.log" t
  t=$(date +%s)
  if [ -n "${2:-}" ]; then PONET_MIX_VECTOR=$2 timeout 150 "$p" selftest --device cuda --verbose > "$log" 2>&1
  else timeout 150 "$p" selftest --device cuda --verbose > "$log" 2>&1; fi
  echo "selftest ($1) exit $? ($(( $(date +%s) - t )) s)"; grep -E "^FAIL" "$log" | head -20; tail -1 "$log"
}

# ncu_step NAME LEN [MIXER]: ncu per-kernel times of one eager step (lra-text, batch 32, MIXER default ponet) at
# LEN tokens into $out/ncu-NAME.{csv,err,txt} (the .txt summed by ncu_summary.py, the -step.txt the last step's
# kernels in order); prints the mixing kernels' lines. NCU_CACHE=none: the L2 is not flushed between kernels.
ncu_step() {
  local name=$1 len=$2 mixer=${3:-ponet}
  timeout 100 ncu --clock-control none --cache-control "${NCU_CACHE:-all}" --metrics gpu__time_duration.sum --csv --page raw \
    "$p" bench --preset lra-text --batch 32 --device cuda --warmup 1 --steps 1 --cuda-graphs off --no-cache \
    --mixers "$mixer" --lens "$len" > "${out:?}/ncu-$name.csv" 2> "$out/ncu-$name.err"
  python3 tests/gpu/ncu_summary.py "$out/ncu-$name.csv" 2 > "$out/ncu-$name.txt"
  python3 tests/gpu/ncu_summary.py --last-step "$out/ncu-$name.csv" > "$out/ncu-$name-step.txt"
  head -1 "$out/ncu-$name-step.txt"
  echo "-- ncu $name"; grep -E "(ponet|vec)::" "$out/ncu-$name.txt" | head -14
}

# selftest_three: the self-test with the default kernel choice, every kernel in the vector layout and none.
selftest_three() { selftest_cuda default; selftest_cuda all all; selftest_cuda 0 0; }

# table2_runs N [MIXERS]: the Table 2 row (lra-text, batch 32, 512 to 16K) N times, MIXERS default ponet,fnet, into
# $out/table2-1.json ... (one run: $out/table2.json).
table2_runs() {
  local n=$1 mixers=${2:-ponet,fnet} i name
  for i in $(seq 1 "$n"); do
    name=table2-$i; [ "$n" = 1 ] && name=table2
    bench $name --preset lra-text --mixers "$mixers" --lens 512,1024,2048,4096,8192,16384 --batch 32 --device cuda \
      --warmup 10 --steps 30
  done
}

# selftest_epilogues: the self-test (selftest_cuda default) and its fused linear and epilogue lines.
selftest_epilogues() { selftest_cuda default; grep -E "epilogue|dropout|fused linear" "${out:?}/selftest-default.log"; }

# epilogues_ab N: the Table 2 row with the linear layers' epilogue kernels off (PONET_LINEAR_EPILOGUES=0) and then
# on, into $out/table2-off-N.json and $out/table2-on-N.json.
epilogues_ab() {
  export PONET_LINEAR_EPILOGUES=0; table2_runs 1; unset PONET_LINEAR_EPILOGUES
  mv "${out:?}/table2.json" "$out/table2-off-$1.json"
  table2_runs 1; mv "$out/table2.json" "$out/table2-on-$1.json"
}

# long_rows: PoNet at 32K and 64K tokens ($out/long.json).
long_rows() { bench long --preset lra-text --mixers ponet --lens 32768,65536 --batch 32 --device cuda --warmup 3 --steps 10; }

# base_shape: the base preset at 4,096 tokens, batch 8, no graphs: PoNet and attention fused, PoNet with the
# reference path, training and inference ($out/base*.json).
base_shape() {
  local a="--preset base --lens 4096 --batch 8 --device cuda --warmup 3 --steps 10 --cuda-graphs off"
  bench base $a --mixers ponet,attention
  bench base-ref $a --mixers ponet --impl reference
  bench base-infer $a --mixers ponet,attention --mode infer
  bench base-infer-ref $a --mixers ponet --mode infer --impl reference
}

# mixing_round: the self-test the three ways, the Table 2 row with FNet twice and the 512-token PoNet step kernel
# by kernel with the L2 kept warm (the measurements after a change to the mixing kernels).
mixing_round() { selftest_three; table2_runs 2; NCU_CACHE=none ncu_step ponet512 512 ponet; }

# listops_smoke: a 100-step CUDA training run of the first-run example (`ponet lra --preset tiny-listops`); prints
# the exit code and the last evaluation, loss and error lines; the run folder is removed.
listops_smoke() {
  echo "== ponet lra --preset tiny-listops on cuda, 100 steps"
  timeout 120 "$p" lra --preset tiny-listops --run-dir "${out:?}/listops-cuda" --set train.device=cuda \
    --set train.max_steps=100 --set train.eval_every=50 > "$out/listops-cuda.log" 2>&1
  echo "exit $?"; grep -iE "evaluation|finished|error|loss" "$out/listops-cuda.log" | tail -5
  rm -rf "$out/listops-cuda"
}

# status_checks: a final round's common part: the self-test, the Table 2 row with FNet once, PoNet at 32K and 64K.
status_checks() { selftest_cuda default; table2_runs 1; long_rows; }

# segment_runs_ab NAME LENS [ponet bench options]: PoNet at LENS (lra-text, batch 32) with the segment tables
# (PONET_MIX_SEGMENT_RUNS=0) and without, alternating, twice, into $out/NAME-off-N.json and $out/NAME-on-N.json.
segment_runs_ab() {
  local name=$1 lens=$2 i; shift 2
  for i in 1 2; do
    export PONET_MIX_SEGMENT_RUNS=0
    bench "$name-off-$i" --preset lra-text --mixers ponet --lens "$lens" --batch 32 --device cuda "$@"
    unset PONET_MIX_SEGMENT_RUNS
    bench "$name-on-$i" --preset lra-text --mixers ponet --lens "$lens" --batch 32 --device cuda "$@"
  done
}

# segment_round LENS: the fourteenth session's checks of the fixed-segment kernels: the self-test (with its long-row
# fused-vs-reference lines), the Table 2 row once, and segment_runs_ab at LENS (10 warm-up, 30 timed steps).
segment_round() {
  selftest_cuda default
  grep -E "long rows" "${out:?}/selftest-default.log"
  table2_runs 1
  segment_runs_ab runs "$1" --warmup 10 --steps 30
}

# fixed_run NAME SEGMENT_NUM PRECISION: 100 steps of tiny-listops on CUDA with fixed segments (seed 7), the step 25,
# 50 and 100 lines and the last evaluation; the run folder is removed.
fixed_run() {
  timeout 120 "$p" lra --preset tiny-listops --run-dir "${out:?}/run-$1" --set train.device=cuda \
    --set train.max_steps=100 --set train.eval_every=100 --set train.log_every=25 --set train.seed=7 \
    --set model.segment_strategy=fixed --set model.segment_num="$2" --set train.precision="$3" > "$out/run-$1.log" 2>&1
  echo "$1: exit $?"; grep -E "^step (25|50|100)/|eval dev" "$out/run-$1.log" | cut -c1-90
  rm -rf "$out/run-$1"
}

# round_end: the total time, the results packed into $out/results.tgz.
round_end() {
  echo "total $(( $(date +%s) - t0 )) s"
  (cd "${out:?}" && tar -czf results.tgz --remove-files *.json *.log *.csv *.err 2>/dev/null)
}

# Trainer rounds (69-71): the run folders go under $runs, the logs under $out.
# trainer_round_start OUT NAME: gpu_round_start OUT, and an empty $runs=/tmp/NAME.
trainer_round_start() { gpu_round_start "$1"; runs=/tmp/$2; rm -rf "$runs"; mkdir -p "$runs"; }

# trainer_rate METRICS: steps/s between a run's second and last step report (its own clock: data preparation and
# start-up do not count) and its last loss.
trainer_rate() {
  python3 - "$1" <<'PY'
import json, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if r.get('event') == 'step']
a, b = steps[1], steps[-1]
print(f"{(b['step'] - a['step']) / (b['elapsed_seconds'] - a['elapsed_seconds']):.1f} steps/s, last loss {b['loss']:.4f}")
PY
}

# listops_run NAME LENGTH PRECISION GRAPHS STEPS: an LRA ListOps run (`lra-listops` preset at LENGTH tokens, 6,000
# generated training examples, no evaluation or checkpoint during the run) with train.cuda_graphs=GRAPHS; prints its
# rate and graph log lines.
listops_run() {
  local run=$runs/$1
  timeout 150 "$p" lra --preset lra-listops --set data.dataset=listops:train=6000,dev=300,test=300,seed=0 \
    --set model.max_length="$2" --set train.device=cuda --set train.precision="$3" --set train.max_steps="$5" \
    --set train.warmup_steps=100 --set train.lr=5e-4 --set train.eval_every=100000 --set train.log_every=100 \
    --set train.checkpoint_every=100000 --set train.seed=1 --set train.cuda_graphs="$4" --run-dir "$run" \
    > "$out/$1.log" 2>&1
  echo "$1: exit $?, $(trainer_rate "$run/metrics.jsonl")"
  grep -E "CUDA graph|one by one|graph replays" "$out/$1.log" | sed 's/^/    /' | head -3
}

# pretrain_corpus: $runs/corpus.jsonl (3,000 generated documents of common English words) and $runs/vocab.txt (a
# WordPiece vocabulary of those words, the letters and the special tokens).
pretrain_corpus() {
  python3 - "$runs/corpus.jsonl" "$runs/vocab.txt" <<'PY'
import json, random, string, sys
random.seed(0)
words = "the of and a to in is was he for it with as his on be at by had are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people mr how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three".split()
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        sents = [" ".join(random.choice(words) for _ in range(random.randint(6, 18))).capitalize() + "." for _ in range(random.randint(4, 12))]
        f.write(json.dumps({"id": f"doc{i}", "text": " ".join(sents)}) + "\n")
with open(sys.argv[2], "w") as f:
    letters = list(string.ascii_lowercase)
    f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."] + sorted(set(words)) + letters +
                      ["##" + c for c in letters]) + "\n")
PY
}

# pretrain_run GRAPHS: MLM + SSO pre-training of the `tiny` preset on pretrain_corpus's files (128 tokens, batch 32,
# bf16, 600 steps) with train.cuda_graphs=GRAPHS; prints its rate and graph log lines.
pretrain_run() {
  local g=$1
  timeout 150 "$p" pretrain --preset tiny --set data.train="$runs/corpus.jsonl" --set data.tokenizer="$runs/vocab.txt" \
    --set train.device=cuda --set train.precision=bf16 --set train.batch_size=32 --set train.max_steps=600 \
    --set train.eval_every=100000 --set train.log_every=100 --set train.checkpoint_every=100000 --set train.seed=1 \
    --set train.cuda_graphs=$g --run-dir "$runs/pretrain-$g" > "$out/pretrain-$g.log" 2>&1
  echo "pretrain-$g: exit $?, $(trainer_rate "$runs/pretrain-$g/metrics.jsonl")"
  grep -E "CUDA graph|one by one|graph replays|error|failed" "$out/pretrain-$g.log" | sed 's/^/    /' | head -4
}

# labelled_corpus: pretrain_corpus, and $runs/labelled.jsonl: its documents labelled "short" (under 500 characters)
# or "long", for fine-tuning classifiers (rounds 79-80).
labelled_corpus() {
  pretrain_corpus
  python3 - "$runs/corpus.jsonl" "$runs/labelled.jsonl" <<'PY'
import json, sys
with open(sys.argv[2], "w") as f:
    for line in open(sys.argv[1]):
        d = json.loads(line)
        d["label"] = "short" if len(d["text"]) < 500 else "long"
        f.write(json.dumps(d) + "\n")
PY
}
