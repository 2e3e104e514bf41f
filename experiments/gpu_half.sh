#!/usr/bin/env bash
# The config_half rows of the README's results table, sized for one call on one GPU (H100/H200): the
# best CPU recipe of experiments.sh (step 24: the 16,000-piece review vocab, one whole training review per
# sequence plus the kowiki slice at 32 tokens, data.py --mask_prob 0.4, batches grouped by length), config_half.json
# (12 layers, 384 wide, the original repo's model), SpanBERT pretraining for a fixed wall-time budget, and
# NSMC fine-tuning from scratch and from the pretrained encoder with experiments.sh's fine-tuning flags.
# A 30-step timing run first measures the step time, so the real run's schedule (warmup, linear decay)
# ends exactly at the budget instead of being cut off mid-schedule.
# Inputs: $EXP/nsmc_rev.txt, kowiki20.txt, heldout.txt and rv16.model (MAIN=0 MASK40=1 bash experiments.sh
#         makes them; EXP=runs/exp),
#         $DATA/ratings_train.txt, $DATA/ratings_test.txt (DATA=data).
# Outputs: runs/gpu/ (span data, checkpoints), $RESULTS/half-*.jsonl and eval-half.txt (RESULTS=results).
# Knobs: MINUTES of pretraining (4: with data, timing and two fine-tunings it should fit a 10-minute call),
# BATCH sequences per pretraining step (512: four times step 24's 128), MASK_PROB for data.py (0.4), LR pretraining
# peak rate (5e-4), WORKERS for data.py (all
# cores), MAX_TRAIN reviews to fine-tune on (0 = all; for smoke tests). python3, not python: on the lent
# machines only python3 holds PyTorch.
# On a lent device machine, which does not see ../shared: copy the NSMC files into runs/nsmc, carry
#   runs/exp/nsmc_rev.txt runs/exp/kowiki20.txt runs/exp/heldout.txt runs/exp/rv16.model runs/nsmc (about 55 MB)
# and run: set -o pipefail; EXP=runs/exp DATA=runs/nsmc RESULTS=$OUT PYTHONUNBUFFERED=1 bash gpu.sh 2>&1 | tee $OUT/log
set -euo pipefail
cd "$(dirname "$0")"
exp=${EXP:-runs/exp} data=${DATA:-data} res=${RESULTS:-results} out=runs/gpu
minutes=${MINUTES:-4} batch=${BATCH:-512} mask_prob=${MASK_PROB:-0.4} lr=${LR:-5e-4} workers=${WORKERS:-$(nproc)} max_train=${MAX_TRAIN:-0}
rm -rf "$out" && mkdir -p "$out" "$res"  # every run starts clean: no stale logs or checkpoints
stamp() { echo "[$(date +%T)] $*"; }
sync_logs() {  # every 15 s, so that a call cut off at its time limit still returns the steps and epochs done
  while sleep 15; do
    cp -f "$out"/half-*.jsonl "$res"/ 2>/dev/null || true
    if [ -e "$out/pre.jsonl" ]; then cp -f "$out/pre.jsonl" "$res/pretrain-half.jsonl"; fi
  done
}
sync_logs > /dev/null 2>&1 &  # no pipe held open: `| tee` ends with the script
sync_pid=$!
trap 'kill "$sync_pid" 2>/dev/null || true' EXIT

vocab=$exp/rv16.model
stamp "span data (5 masked copies of the whole reviews, 1 of kowiki at 32 tokens, --mask_prob $mask_prob, as experiments.sh step 24)"
python3 data.py --input "$exp/nsmc_rev.txt" --vocab "$vocab" --output "$out/nsmc_span.json" \
  --n_seq 128 --dupe 5 --mask_prob "$mask_prob" --workers "$workers"
python3 data.py --input "$exp/kowiki20.txt" --vocab "$vocab" --output "$out/kowiki20_span.json" \
  --n_seq 32 --dupe 1 --mask_prob "$mask_prob" --workers "$workers"
cat "$out/nsmc_span.json" "$out/kowiki20_span.json" > "$out/mix_span.json"

pretrain() {  # steps, save path
  python3 pretrain.py --config config_half.json --vocab "$vocab" --input "$out/mix_span.json" \
    --save "$2" --max_steps "$1" --batch "$batch" --lr "$lr" --warmup 0.05 --group_by_length --log_every 10 \
    --save_every 100000
}
stamp "timing run: 30 steps"
pretrain 30 "$out/timing.pth"
steps=$(python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]  # the first line is metadata
a, b = rows[0], rows[-1]  # from step 10 on: the first steps pay for warm-up work
print(max(10, int(float(sys.argv[2]) * 60 * (b["step"] - a["step"]) / (b["time"] - a["time"]))))' \
  "$out/timing.jsonl" "$minutes")
stamp "pretraining: $steps steps of $batch sequences (about $minutes minutes)"
pretrain "$steps" "$out/pre.pth"
cp "$out/pre.jsonl" "$res/pretrain-half.jsonl"

stamp "MLM and SBO loss by position in the span on kowiki text pretraining did not see (experiments.sh step 24)"
python3 data.py --input "$exp/heldout.txt" --vocab "$vocab" --output "$out/heldout_span.json" --n_seq 32 \
  --dupe 1 --workers "$workers"
python3 pretrain.py --eval 4000 --save "$out/pre.pth" --vocab "$vocab" --input "$out/heldout_span.json" \
  > "$out/eval.txt"
cp "$out/eval.txt" "$res/eval-half.txt"

finetune() {  # name, then extra flags
  local name=$1; shift
  stamp "fine-tuning $name"
  python3 train.py --config config_half.json --vocab "$vocab" --train "$data/ratings_train.txt" \
    --test "$data/ratings_test.txt" --epoch 2 --batch 64 --lr 2e-4 --max_train "$max_train" \
    --save "$out/$name.pth" "$@"
  cp "$out/$name.jsonl" "$res/$name.jsonl"
}
# the pretrained row first: if the call runs out of time, the row only a GPU can give is the one kept
finetune half-pre-max --pretrain "$out/pre.pth" --pooling max
finetune half-scratch-max --pooling max
stamp "done"
python3 plot.py --table "$res"/half-*.jsonl
