#!/usr/bin/env bash
# How much pretraining, on which schedule? The 8,000-piece review vocab's pretraining (vocab.sh) stopped at
# half and a quarter of its 4,500 steps; the quarter budget with twice the rate, with a 20% warmup (225
# steps, the full run's), and with that warmup at half the rate; and the recipe validation picks
# (best.sh) pretrained again with another seed. (RESULTS.md: "Pretraining budget and schedule".)
# Inputs: data/kowiki.txt, data/ratings_*.txt. Outputs: results/budget/, img/budget.svg.
# Time on 2 cores: pretraining 15-60 minutes per encoder (six), 18-20 minutes per fine-tuning (six):
# about 6 hours.
RES=results/budget
source "$(dirname "$0")/lib.sh"

review_vocab rv8 8000
mix_spans rv8 128 ""
heldout_spans rv8 128
rv8_encoder() {  # name, steps, then pretrain.py flags
  local name=$1 steps=$2; shift 2
  pretrain "$name" rv8 "$out/span-rv8-mix128.json" --max_steps "$steps" "$@"
  heldout "$name" rv8 128 2000
}
rv8_encoder rv8-half 2250
rv8_encoder rv8-quarter 1125
for name in rv8-half rv8-quarter; do finetune "nsmc-$name-s42" rv8 --pretrain "$out/$name.pth"; done
rv8_encoder rv8-quarter-lr2e-3 1125 --lr 2e-3
rv8_encoder rv8-quarter-wu20-lr5e-4 1125 --warmup 0.2 --lr 5e-4
rv8_encoder rv8-quarter-wu20 1125 --warmup 0.2
seeds nsmc-rv8-quarter-wu20 rv8 --pretrain "$out/rv8-quarter-wu20.pth"

# a second pretraining seed for the recipe best.sh uses (initial weights, batch order, dropout; the same masks)
whole_encoder rv16-whole-m40-pseed1 0.4 --seed 1
finetune nsmc-rv16-whole-m40-pseed1-ep3-s42 rv16 --pretrain "$out/rv16-whole-m40-pseed1.pth" --epoch 3
dry || python plot.py --question budget
