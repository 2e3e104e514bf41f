#!/usr/bin/env bash
# How long should pretraining sequences be for a task of 17-token reviews? The same token budget as
# 64- and 32-token sequences instead of 128 (half budget with the 8,000-piece review vocab, then the full
# budget with 16,000 pieces); at 32 tokens with 15% masked (data.py --allow_unmasked) to tell the context
# from the masked share; one review per 32-token sequence; whole reviews up to 128 tokens with batches
# grouped by length. Held-out scores at the length each encoder was trained on.
# (RESULTS.md: "Sequence length and packing".)
# Inputs: data/kowiki.txt, data/ratings_*.txt; scores vocab.sh's and budget.sh's encoders when they exist.
# Outputs: results/seqlen/, img/seqlen.svg.
# Time on 2 cores: about 60-100 minutes of pretraining per encoder (six), 18-27 minutes per fine-tuning
# (sixteen): about 14 hours.
RES=results/seqlen
source "$(dirname "$0")/lib.sh"

# half the budget (2,250 steps) at 64 tokens, 64 a step: the tokens of 32 × 128
review_vocab rv8 8000
mix_spans rv8 64 ""
heldout_spans rv8 64
pretrain rv8-half-seq64 rv8 "$out/span-rv8-mix64.json" --max_steps 2250 --batch 64
for name in rv8-half-seq64 rv8-half; do heldout "$name" rv8 64 4000; done  # rv8-half: budget.sh
finetune nsmc-rv8-half-seq64-s42 rv8 --pretrain "$out/rv8-half-seq64.pth"

# the full budget at 64 and 32 tokens (64 × 64, 128 × 32), 16,000 pieces; 32 tokens at 15% masked
short_encoder() {  # name, length, sequences a step, file-name tag, then data.py flags
  local name=$1 n=$2 batch=$3 t=$4; shift 4
  mix_spans rv16 "$n" "$t" "$@"
  heldout_spans rv16 "$n"
  pretrain "$name" rv16 "$out/span-rv16-mix$n$t.json" --batch "$batch"
}
review_vocab rv16 16000
short_encoder rv16-seq64 64 64 ""
short_encoder rv16-seq32 32 128 ""
short_encoder rv16-seq32-share15 32 128 -share15 --allow_unmasked
for name in rv16-seq64 rv16; do heldout "$name" rv16 64 4000; done  # rv16: vocab.sh
for name in rv16-seq32 rv16-seq64 rv16 rv16-seq32-share15; do heldout "$name" rv16 32 4000; done
seeds nsmc-rv16-seq64 rv16 --pretrain "$out/rv16-seq64.pth"
seeds nsmc-rv16-seq32 rv16 --pretrain "$out/rv16-seq32.pth"
seeds nsmc-rv16-seq32-share15 rv16 --pretrain "$out/rv16-seq32-share15.pth"

# one review per 32-token sequence (a longer review cut in two), the same kowiki part
spans "$out/span-rv16-review32.json" "$out/nsmc_rev.txt" "$out/rv16.model" 32 5
write "$out/span-rv16-reviewmix32.json" cat "$out/span-rv16-review32.json" "$out/span-rv16-kowiki32.json"
pretrain rv16-seq32-onereview rv16 "$out/span-rv16-reviewmix32.json" --batch 128
heldout rv16-seq32-onereview rv16 32 4000
seeds nsmc-rv16-seq32-onereview rv16 --pretrain "$out/rv16-seq32-onereview.pth"

# every review whole (up to 128 tokens), batches grouped by length
whole_spans ""
pretrain rv16-whole rv16 "$out/span-rv16-whole.json" --batch 128 --group_by_length
heldout rv16-whole rv16 32 4000
seeds nsmc-rv16-whole rv16 --pretrain "$out/rv16-whole.pth"
dry || python plot.py --question seqlen
