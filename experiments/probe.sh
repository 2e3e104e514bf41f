#!/usr/bin/env bash
# What does the encoder know before fine-tuning? Linear probes: train.py --freeze keeps the encoder fixed
# (no dropout in it) and trains only the output layer on its max-pooled states, for the pretrained encoders
# of main.sh, vocab.sh and seqlen.sh that exist and for the same models at their random initial weights,
# at lr 1e-3 and 1e-2 (validation picks). (RESULTS.md: "Linear probes".)
# Inputs: data/ratings_*.txt; the encoders of main.sh (mix20), vocab.sh (rv16), seqlen.sh (rv16-seq64,
# rv16-seq32, rv16-seq32-share15). Outputs: results/probe/, img/probe.svg.
# Time on 2 cores: 6-7 minutes per probe (fourteen): about 1.5 hours.
RES=results/probe
source "$(dirname "$0")/lib.sh"

for v in mix20 rv16; do need "$out/$v.model" "$([ $v = mix20 ] && echo main.sh || echo vocab.sh)"; done
for lr in 1e-3 1e-2; do
  sfx=$([ $lr = 1e-3 ] || echo "-lr$lr")
  for enc in scratch-mix20 mix20 scratch-rv16 rv16 rv16-seq64 rv16-seq32 rv16-seq32-share15; do
    v=${enc#scratch-}; v=${v%%-*}
    if [ "${enc%%-*}" = scratch ]; then pre=(); else
      [ -e "$out/$enc.pth" ] || dry || continue  # not pretrained yet
      pre=(--pretrain "$out/$enc.pth")
    fi
    finetune "probe-$enc$sfx-s42" "$v" --freeze "${pre[@]}" --lr "$lr"
  done
done
dry || python plot.py --question probe
