#!/usr/bin/env bash
# Does SpanBERT pretraining help extractive QA, the task it was made for? KorQuAD 1.0's dev file split by
# article (90 / 10 / 40: train / validation / test, fixed), fine-tuned from scratch and from a SpanBERT
# encoder pretrained on kowiki without the KorQuAD articles (span masking + SBO, 5,000 steps of 16 × 384
# tokens); the fine-tuning rate and the window length (256 against 384 tokens) chosen on validation, a second
# seed at the chosen rate; and a lexical sliding-window baseline for scale. (RESULTS.md: "Extractive QA on
# KorQuAD 1.0".)
# Inputs: data/kowiki.txt, data/KorQuAD_v1.0_dev.json (quickstart.sh links both).
# Outputs: results/qa/, img/qa.svg, img/qa_curves/.
# Time on 2 cores (Intel Xeon with AMX): pretraining about 70 minutes, about 16 minutes per fine-tuning
# (seven): about 3.2 hours.
RES=results/qa
source "$(dirname "$0")/lib.sh"

wiki_encoder wiki8-span-sbo span
pre=(--pretrain "$out/wiki8-span-sbo.pth")
qa_finetune qa-wiki8-span-sbo-s42 "${pre[@]}"
qa_finetune qa-scratch-wiki8-s42
# the rate: 1e-3 against 3e-4, for both sides
qa_finetune qa-wiki8-span-sbo-lr1e-3-s42 "${pre[@]}" --lr 1e-3
qa_finetune qa-scratch-wiki8-lr1e-3-s42 --lr 1e-3
# a second fine-tuning seed at the rate validation picks (1e-3)
qa_finetune qa-wiki8-span-sbo-lr1e-3-s1 "${pre[@]}" --lr 1e-3 --seed 1
qa_finetune qa-scratch-wiki8-lr1e-3-s1 --lr 1e-3 --seed 1
# the window at that rate: 256 tokens against 384
qa_finetune qa-wiki8-span-sbo-lr1e-3-n256-s42 "${pre[@]}" --lr 1e-3 --n_seq 256
write "$RES/lexical.json" python experiments/qa_baseline.py --data "$korquad"
dry || python plot.py --question qa
# learning curves at the chosen rate: img/qa_curves/accuracy.svg (F1 per epoch) and loss.svg
dry || python plot.py "$RES"/qa-{scratch-wiki8,wiki8-span-sbo}-lr1e-3-s{42,1}.jsonl --out img/qa_curves
