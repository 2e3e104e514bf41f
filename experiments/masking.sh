#!/usr/bin/env bash
# How many prediction targets? seqlen.sh's whole-review recipe at data.py --mask_prob 0.3, 0.4 and 0.5
# (0.15 is seqlen.sh's rv16-whole), three fine-tuning seeds each. The 0.4 encoder is best.sh's.
# (RESULTS.md: "Masking rate".)
# Inputs: data/kowiki.txt, data/ratings_*.txt. Outputs: results/masking/, img/masking.svg.
# Time on 2 cores (Intel Xeon with AMX): about 60 minutes of pretraining per rate, 12 minutes per
# fine-tuning: about 5 hours.
RES=results/masking
source "$(dirname "$0")/lib.sh"

for m in 30 40 50; do
  if [ $m = 40 ]; then RES=results/best whole_encoder rv16-whole-m40 0.4; else whole_encoder "rv16-whole-m$m" "0.${m%0}"; fi
  seeds "nsmc-rv16-whole-m$m" rv16 --pretrain "$out/rv16-whole-m$m.pth"
done
dry || python plot.py --question masking
