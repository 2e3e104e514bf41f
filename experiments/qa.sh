#!/usr/bin/env bash
# Does SpanBERT pretraining help extractive QA, the task it was made for? KorQuAD 1.0's dev file split by
# article (90 / 10 / 40: train / validation / test, fixed), fine-tuned from scratch and from a SpanBERT
# encoder pretrained on kowiki without the KorQuAD articles (span masking + SBO, 5,000 steps of 16 × 384
# tokens); two fine-tuning seeds each; then the window length (256 against 384 tokens) and the rate, chosen
# on validation; and a lexical sliding-window baseline for scale. (RESULTS.md: "Extractive QA on KorQuAD 1.0".)
# Inputs: data/kowiki.txt, data/KorQuAD_v1.0_dev.json (quickstart.sh links both).
# Outputs: results/qa/, img/qa.svg.
# Time on 2 cores (Intel Xeon with AMX): pretraining about 60 minutes, about 20 minutes per fine-tuning
# (eight): about 3.5 hours.
RES=results/qa
source "$(dirname "$0")/lib.sh"

wiki_encoder wiki8-span-sbo span
for seed in 42 1; do
  qa_finetune "qa-wiki8-span-sbo-s$seed" --pretrain "$out/wiki8-span-sbo.pth" --seed "$seed"
  qa_finetune "qa-scratch-wiki8-s$seed" --seed "$seed"
done
# the window: 256 tokens (a context needs more of them) against 384; the rate: 1e-4 and 1e-3 against 3e-4
qa_finetune qa-wiki8-span-sbo-n256-s42 --pretrain "$out/wiki8-span-sbo.pth" --n_seq 256
for lr in 1e-4 1e-3; do
  qa_finetune "qa-wiki8-span-sbo-lr$lr-s42" --pretrain "$out/wiki8-span-sbo.pth" --lr "$lr"
done
qa_finetune qa-scratch-wiki8-lr1e-3-s42 --lr 1e-3
write "$RES/lexical.json" python experiments/qa_baseline.py --data "$korquad"
dry || python plot.py --question qa
