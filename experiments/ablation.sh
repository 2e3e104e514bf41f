#!/usr/bin/env bash
# The paper's ablations (SpanBERT, Tables 5 and 6) at CPU scale: does span masking beat BERT's subword
# masking and whole-word masking, and does the span boundary objective add to span masking? Four encoders
# pretrained alike on kowiki without the KorQuAD articles (5,000 steps of 16 × 384 tokens, 15% masked):
# subword-MLM, word-MLM, span-MLM and span-MLM+SBO (qa.sh's encoder), and the model from scratch; each
# fine-tuned on the KorQuAD split (as qa.sh, at the rate its validation picks, 1e-3) and on NSMC, two seeds
# each. Held-out MLM/SBO loss of each encoder on the same span-masked kowiki text. (RESULTS.md: "The
# paper's ablations".)
# Inputs: data/kowiki.txt, data/KorQuAD_v1.0_dev.json, data/ratings_*.txt.
# Outputs: results/ablation/ (and qa.sh's rows in results/qa/), img/ablation.svg.
# Time on 2 cores (Intel Xeon with AMX): pretraining about 70 minutes per encoder (three more than qa.sh),
# about 16 minutes per QA fine-tuning (six more), about 18 per NSMC fine-tuning (ten): about 8 hours after qa.sh.
RES=results/ablation
source "$(dirname "$0")/lib.sh"

RES=results/qa wiki_encoder wiki8-span-sbo span
wiki_encoder wiki8-span span --sbo_weight 0
wiki_encoder wiki8-subword subword --sbo_weight 0
wiki_encoder wiki8-word word --sbo_weight 0
for seed in 42 1; do
  RES=results/qa qa_finetune "qa-scratch-wiki8-lr1e-3-s$seed" --lr 1e-3 --seed "$seed"
  RES=results/qa qa_finetune "qa-wiki8-span-sbo-lr1e-3-s$seed" --pretrain "$out/wiki8-span-sbo.pth" --lr 1e-3 --seed "$seed"
  for enc in wiki8-span wiki8-subword wiki8-word; do
    qa_finetune "qa-$enc-lr1e-3-s$seed" --pretrain "$out/$enc.pth" --lr 1e-3 --seed "$seed"
  done
done
for seed in 42 1; do
  finetune "nsmc-scratch-wiki8-s$seed" wiki8 --seed "$seed"
  for enc in wiki8-span-sbo wiki8-span wiki8-subword wiki8-word; do
    finetune "nsmc-$enc-s$seed" wiki8 --pretrain "$out/$enc.pth" --seed "$seed"
  done
done
dry || python plot.py --question ablation
