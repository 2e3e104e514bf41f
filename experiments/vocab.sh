#!/usr/bin/env bash
# Which vocab? BPE trained on the NSMC training reviews alone, 8,000 and 16,000 pieces, instead of the
# kowiki + review mix of main.sh: the same span data recipe, pretraining and fine-tuning with each, three
# seeds from scratch and pretrained. (RESULTS.md: "Vocab".)
# Inputs: data/kowiki.txt, data/ratings_*.txt. Outputs: results/vocab/, img/vocab.svg.
# Time on 2 cores: about 3 hours per vocab.
RES=results/vocab
source "$(dirname "$0")/lib.sh"

for v in rv8:8000 rv16:16000; do
  name=${v%:*}
  review_vocab "$name" "${v#*:}"
  mix_spans "$name" 128 ""
  heldout_spans "$name" 128
  finetune "nsmc-scratch-$name-s42" "$name"
  pretrain "$name" "$name" "$out/span-$name-mix128.json"
  heldout "$name" "$name" 128 2000
  finetune "nsmc-$name-s42" "$name" --pretrain "$out/$name.pth"
  for seed in 1 2; do
    finetune "nsmc-$name-s$seed" "$name" --pretrain "$out/$name.pth" --seed "$seed"
    finetune "nsmc-scratch-$name-s$seed" "$name" --seed "$seed"
  done
done
dry || python plot.py --question vocab
