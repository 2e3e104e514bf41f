#!/usr/bin/env bash
# The original repo's table at this scale: a vocab of kowiki + review text (mix20), one pretraining run,
# fine-tuned with three poolings and two rates, from scratch and pretrained; the same budget on kowiki
# alone; and without dropout. Answers: does pooling, the fine-tuning rate, the pretraining text or
# dropout matter? (RESULTS.md: "Pooling, rate, text and dropout".)
# Inputs: data/kowiki.txt, data/ratings_*.txt. Outputs: results/main/, img/main.svg.
# Time on 2 cores: pretraining about 60 minutes per encoder (three), 13-20 minutes per fine-tuning
# (fifteen): about 7.5 hours.
RES=results/main
source "$(dirname "$0")/lib.sh"

texts
write "$out/mix20.txt" cat "$out/kowiki20.txt" "$out/nsmc_text.txt"
vocab mix20 8000 "$out/mix20.txt"
mix_spans mix20 128 ""
heldout_spans mix20 128
pretrain mix20 mix20 "$out/span-mix20-mix128.json"
heldout mix20 mix20 128 2000
seeds nsmc-scratch-mix20 mix20
seeds nsmc-mix20 mix20 --pretrain "$out/mix20.pth"
for pooling in cls mean; do
  finetune "nsmc-mix20-$pooling-s42" mix20 --pretrain "$out/mix20.pth" --pooling "$pooling"
done
for lr in 5e-4 1e-3; do
  finetune "nsmc-scratch-mix20-lr$lr-s42" mix20 --lr "$lr"
  finetune "nsmc-mix20-lr$lr-s42" mix20 --pretrain "$out/mix20.pth" --lr "$lr"
done

# the same budget on kowiki alone: the first 60 MB, masked once (no sequence seen twice), same vocab
write "$out/kowiki60.txt" head -c 60000000 "$data/kowiki.txt"
spans "$out/span-mix20-wiki60m128.json" "$out/kowiki60.txt" "$out/mix20.model" 128 1
pretrain mix20-wikionly mix20 "$out/span-mix20-wiki60m128.json"
heldout mix20-wikionly mix20 128 2000
finetune nsmc-mix20-wikionly-s42 mix20 --pretrain "$out/mix20-wikionly.pth"

# without dropout in pretraining (fine-tuning keeps 0.1)
write "$out/config_tiny_nodrop.json" python -c '
import json; c = json.load(open("config_tiny.json")); c["dropout"] = 0.0; print(json.dumps(c, indent=4))'
pretrain mix20-nodrop mix20 "$out/span-mix20-mix128.json" --config "$out/config_tiny_nodrop.json"
heldout mix20-nodrop mix20 128 2000
finetune nsmc-mix20-nodrop-s42 mix20 --pretrain "$out/mix20-nodrop.pth"
dry || python plot.py --question main
