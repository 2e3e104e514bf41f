#!/usr/bin/env bash
# Does pretraining pay more when labels are few? main.sh's encoder and the model from scratch fine-tuned on
# the first 5,000 (10 epochs) and 20,000 (5 epochs) training reviews, three seeds each; scored on the
# first 10,000 test reviews (all 50,000 after every epoch would take longer than the training).
# (RESULTS.md: "Few labels".)
# Inputs: data/ratings_*.txt; main.sh's mix20 encoder. Outputs: results/few_labels/, img/few_labels.svg.
# Time on 2 cores: 5-9 minutes per run (twelve): about 1.5 hours.
RES=results/few_labels
source "$(dirname "$0")/lib.sh"

need "$out/mix20.pth" main.sh
for n in 5000:10 20000:5; do
  flags=(--max_train "${n%:*}" --max_test 10000 --epoch "${n#*:}")
  for seed in 42 1 2; do
    finetune "nsmc-scratch-mix20-n${n%:*}-s$seed" mix20 "${flags[@]}" --seed "$seed"
    finetune "nsmc-mix20-n${n%:*}-s$seed" mix20 --pretrain "$out/mix20.pth" "${flags[@]}" --seed "$seed"
  done
done
dry || python plot.py --question few_labels
