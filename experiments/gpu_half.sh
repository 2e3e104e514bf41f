#!/usr/bin/env bash
# How fast and how good is config_half (12 layers × 384, the original repo's model) on one GPU? Speed against
# Hugging Face BERT (bench.py: config_half and config.json at 128 and 512 tokens, bf16, peak memory); then
# best.sh's recipe pretrained for PRE_MIN minutes and fine-tuned on NSMC for 3 epochs; then qa.sh's recipe
# (kowiki without the KorQuAD articles, 384 tokens) pretrained for QA_MIN minutes and fine-tuned on the KorQuAD
# split, pretrained and from scratch; then NSMC from scratch. A 20-step probe before each pretraining measures
# the step time, so the schedule (warmup, linear decay) ends at the budget instead of being cut off. Each
# stage starts only if the time left of DEADLINE seconds allows it, and logs reach RES as they grow.
# Inputs (IN, default runs/exp; a file.xz is unpacked first): rv16.model, nsmc_rev.txt, kowiki20.txt,
#   heldout.txt (best.sh makes them), wiki8.model, kowiki_noqa.txt, kowiki_noqa_heldout.txt (qa.sh), and
#   ratings_train.txt, ratings_test.txt, KorQuAD_v1.0_dev.json (from data/ when not in IN).
# Outputs: runs/gpu/ (span data, checkpoints), RES (default results/gpu_half): bench-*.json, pretrain-*.jsonl,
#   heldout*-*.txt, nsmc-*.jsonl, qa-*.jsonl.
# Time: sized to end within DEADLINE (9 minutes); checked on CPU at toy sizes only.
# Knobs: PRE_MIN (3), QA_MIN (2), DEADLINE (540), PYTHON (python3),
# MAX_TRAIN (0 = all reviews and questions), DEVICE (cuda); for a check on CPU: SMOKE=1 (bench.py --smoke),
# CONFIG (config_half.json).
set -euo pipefail
cd "$(dirname "$0")/.."
in=${IN:-runs/exp} res=${RES:-results/gpu_half} out=runs/gpu py=${PYTHON:-python3}
pre_min=${PRE_MIN:-3} qa_min=${QA_MIN:-2} deadline=${DEADLINE:-540} max_train=${MAX_TRAIN:-0} device=${DEVICE:-cuda}
config=${CONFIG:-config_half.json}
workers=$(nproc) t0=$(date +%s)
rm -rf "$out" && mkdir -p "$out" "$res"  # every run starts clean
stamp() { echo "[$(date +%T), $(( $(date +%s) - t0 )) s] $*"; }
left() { echo $(( deadline - ($(date +%s) - t0) )); }
seconds() { awk "BEGIN { print int($1) }"; }  # minutes may be fractional
fits() { [ "$(left)" -ge "$1" ] || { stamp "skipped: $2 needs $1 s, $(left) s left"; return 1; }; }
keep() { cp -f "$@" "$res"/ 2>/dev/null || true; }
( while sleep 15; do keep "$out"/pretrain-*.jsonl "$out"/nsmc-*.jsonl "$out"/qa-*.jsonl; done ) > /dev/null 2>&1 &
# (a call cut off at its time limit still returns the logs so far)
trap 'kill $! 2>/dev/null || true' EXIT
input() {  # name: the input file, unpacked from IN/name.xz when needed
  local f
  for f in "$in/$1" "data/$1"; do if [ -e "$f" ]; then echo "$f"; return; fi; done
  if [ -e "$in/$1.xz" ]; then xz -dc "$in/$1.xz" > "$out/$1" && echo "$out/$1"; return; fi
  echo "missing input $1 (in $in or data/)" >&2; exit 2
}
pretrain() {  # name, vocab, span data, minutes, then pretrain.py flags: a 20-step probe sizes the run;
  # the encoder is runs/gpu/pretrain-<name>.pth
  local name=$1 vocab=$2 spans=$3 minutes=$4; shift 4
  local common=(--config "$config" --vocab "$vocab" --input "$spans" --device "$device" --log_every 10
                --save_every 100000 "$@")
  "$py" pretrain.py "${common[@]}" --save "$out/timing-$name.pth" --max_steps 20 || return
  local steps
  steps=$("$py" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]  # after the meta line; from step 10 on, past the warm-up work
print(max(20, int(float(sys.argv[2]) * 60 * (rows[-1]["step"] - rows[0]["step"]) / (rows[-1]["time"] - rows[0]["time"]))))' \
    "$out/timing-$name.jsonl" "$minutes") || return
  stamp "pretraining $name: $steps steps (about $minutes minutes)"
  "$py" pretrain.py "${common[@]}" --save "$out/pretrain-$name.pth" --max_steps "$steps" || return
  keep "$out/pretrain-$name.jsonl"
}
nsmc() {  # log name, then train.py flags: 3 epochs at 1e-4, batch 64, max pooling
  stamp "fine-tuning $1 on NSMC"
  "$py" train.py --config "$config" --vocab "$rv16" --train "$nsmc_train" --test "$nsmc_test" --epoch 3 --batch 64 --lr 1e-4 --pooling max --max_train "$max_train" \
    --device "$device" --save "$out/$1.pth" "${@:2}"
  keep "$out/$1.jsonl"
}
qa() {  # log name, then qa.py flags: the KorQuAD dev file split by article as qa.sh, 3 epochs at 1e-4
  stamp "fine-tuning $1 on KorQuAD"
  "$py" qa.py --config "$config" --vocab "$wiki8" --train "$korquad" --test "$korquad" --epoch 3 --batch 32 \
    --lr 1e-4 --max_train "$max_train" --device "$device" --save "$out/$1.pth" "${@:2}"
  keep "$out/$1.jsonl"
}

stamp "bench.py: ours against Hugging Face BERT, bf16"
"$py" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")'
smoke=$([ "${SMOKE:-0}" = 1 ] && echo --smoke || true)
if fits 120 bench; then
  timeout 150 "$py" bench.py --device "$device" --only pretrain --json "$res/bench-pretrain.json" $smoke || stamp "bench failed"
  timeout 90 "$py" bench.py --device "$device" --only memory --json "$res/bench-memory.json" $smoke || stamp "memory bench failed"
fi

rv16=$(input rv16.model) nsmc_train=$(input ratings_train.txt) nsmc_test=$(input ratings_test.txt)
reviews=$(input nsmc_rev.txt) kowiki20=$(input kowiki20.txt) heldout=$(input heldout.txt)
wiki8=$(input wiki8.model) korquad=$(input KorQuAD_v1.0_dev.json)
kowiki_noqa=$(input kowiki_noqa.txt) heldout_noqa=$(input kowiki_noqa_heldout.txt)

# each stage stops at its first failure (|| return) and the next stage still runs
nsmc_stage() {
  stamp "span data: best.sh's recipe (whole reviews, 5 copies, kowiki at 32 tokens, --mask_prob 0.4)"
  "$py" data.py --input "$reviews" --vocab "$rv16" --output "$out/review128.json" --n_seq 128 --dupe 5 \
    --mask_prob 0.4 --workers "$workers" || return
  "$py" data.py --input "$kowiki20" --vocab "$rv16" --output "$out/kowiki32.json" --n_seq 32 --dupe 1 \
    --mask_prob 0.4 --workers "$workers" || return
  cat "$out/review128.json" "$out/kowiki32.json" > "$out/whole.json"
  pretrain half-rv16-whole-m40 "$rv16" "$out/whole.json" "$pre_min" --batch 512 --lr 5e-4 --warmup 0.05 \
    --group_by_length || return
  "$py" data.py --input "$heldout" --vocab "$rv16" --output "$out/heldout32.json" --n_seq 32 --dupe 1 \
    --workers "$workers" || return
  "$py" pretrain.py --eval 4000 --save "$out/pretrain-half-rv16-whole-m40.pth" --vocab "$rv16" \
    --input "$out/heldout32.json" --device "$device" > "$res/heldout32-half-rv16-whole-m40.txt" || return
  nsmc nsmc-half-rv16-whole-m40-s42 --pretrain "$out/pretrain-half-rv16-whole-m40.pth"
}
qa_stage() {
  stamp "span data: qa.sh's recipe (kowiki without the KorQuAD articles, 384 tokens)"
  "$py" data.py --input "$kowiki_noqa" --vocab "$wiki8" --output "$out/kowiki384.json" --n_seq 384 \
    --dupe 1 --workers "$workers" || return
  pretrain half-wiki8-span-sbo "$wiki8" "$out/kowiki384.json" "$qa_min" --batch 128 --lr 5e-4 --warmup 0.05 \
    --group_by_length || return
  "$py" data.py --input "$heldout_noqa" --vocab "$wiki8" --output "$out/heldout384.json" \
    --n_seq 384 --dupe 1 --workers "$workers" || return
  "$py" pretrain.py --eval 2000 --save "$out/pretrain-half-wiki8-span-sbo.pth" --vocab "$wiki8" \
    --input "$out/heldout384.json" --device "$device" > "$res/heldout384-half-wiki8-span-sbo.txt" || return
  qa qa-half-wiki8-span-sbo-s42 --pretrain "$out/pretrain-half-wiki8-span-sbo.pth" || return
  if fits 60 "QA from scratch"; then qa qa-half-scratch-wiki8-s42; fi
}
if fits "$(seconds "$pre_min * 60 + 150")" "NSMC pretraining and fine-tuning"; then nsmc_stage || stamp "NSMC stage failed"; fi
if fits "$(seconds "$qa_min * 60 + 90")" "QA pretraining and fine-tuning"; then qa_stage || stamp "QA stage failed"; fi
if fits 150 "NSMC from scratch"; then nsmc nsmc-half-scratch-rv16-s42 || stamp "failed"; fi
stamp "done"
