#!/usr/bin/env bash
# Which fine-tuning schedule, for each side? For best.sh's encoder and for the model from scratch (16,000-piece
# review vocab): lr 1e-4 and 5e-4 against 2e-4 over 2 epochs, and 3 epochs at 2e-4 (seed 42); then three seeds
# at the schedule validation picks for each side (best.sh's rows, logged in results/best/).
# (RESULTS.md: "Fine-tuning schedule".)
# Inputs: data/kowiki.txt, data/ratings_*.txt; best.sh's encoder (made here if missing).
# Outputs: results/finetune/, img/finetune.svg.
# Time on 2 cores (Intel Xeon with AMX): 12-18 minutes per fine-tuning (six): about 1.5 hours.
RES=results/finetune
source "$(dirname "$0")/lib.sh"

RES=results/best whole_encoder rv16-whole-m40 0.4
for lr in 1e-4 5e-4; do
  finetune "nsmc-rv16-whole-m40-lr$lr-s42" rv16 --pretrain "$out/rv16-whole-m40.pth" --lr "$lr"
done
finetune nsmc-scratch-rv16-lr5e-4-s42 rv16 --lr 5e-4
finetune nsmc-scratch-rv16-ep3-s42 rv16 --epoch 3
# the schedule validation picks for each side, three seeds: best.sh's rows
RES=results/best seeds nsmc-scratch-rv16-lr1e-4 rv16 --lr 1e-4
RES=results/best seeds nsmc-rv16-whole-m40-ep3 rv16 --pretrain "$out/rv16-whole-m40.pth" --epoch 3
dry || python plot.py --question finetune
