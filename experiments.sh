#!/usr/bin/env bash
# Reruns the README's results table on CPU (measured on 2 cores): in-domain SpanBERT pretraining with
# config_tiny.json, NSMC fine-tuning with and without it, three poolings, extra seeds, a kowiki-only
# pretraining for comparison, and the TF-IDF baseline. Everything is chosen on the validation split;
# the test set is only reported. A step whose output exists is skipped, so rerunning resumes.
# Inputs: data/kowiki.txt, data/ratings_train.txt, data/ratings_test.txt (quickstart.sh links them).
# Outputs: runs/exp/ (checkpoints, span data; gitignored), results/*.jsonl (metrics logs), img/*.svg.
# The whole table, optional rows included (about 40 hours; the main rows alone about 2.6 hours):
#   SEEDS=1 PREWIKI=1 LR=1 NODROP=1 SMALL=1 REVIEWVOCAB=1 REVIEWVOCAB16=1 PROBE=1 BUDGET=1 SEQ64=1 EPOCHS=1 SCHEDULE=1 SEQ64FULL=1 SEQ32FULL=1 SEQ32SHARE=1 SEQ32REV=1 REVWHOLE=1 MASK30=1 MASK40=1 FTSCHED=1 MASK50=1 PRESEED=1 bash experiments.sh
# MAIN=0 skips the main rows (steps 2-6: the mix20 vocab, its pretraining and fine-tuning, TF-IDF), for an
# optional step on the review vocabs that does not need them, e.g. MAIN=0 MASK30=1 bash experiments.sh
set -euo pipefail
cd "$(dirname "$0")"
out=runs/exp
mkdir -p "$out" results img
main() { [ "${MAIN:-1}" = 1 ]; }
once() {  # output, then the command that makes it: skipped when the output exists
  local target=$1; shift
  if [ -e "$target" ]; then echo "skip: $target exists"; else "$@"; fi
}
write() {  # output, then a command whose stdout becomes it; a killed run leaves no partial file under that name
  local target=$1; shift
  if [ -e "$target" ]; then echo "skip: $target exists"; else "$@" > "$target.tmp" && mv "$target.tmp" "$target"; fi
}

# 1. Pretraining text: the NSMC *training* reviews (never the test file), one per line, 100 per
#    pseudo-document, plus the first 20 MB of the kowiki sample.
review_text() {  # reviews per pseudo-document (a blank line after every N): the training reviews' text
  python -c '
import sys
from data import read_nsmc
docs, _ = read_nsmc("data/ratings_train.txt")
n = int(sys.argv[1])
for i, doc in enumerate(d.strip() for d in docs if d.strip()):
    print(doc, end="\n\n" if i % n == n - 1 else "\n")' "$1"
}
write "$out/nsmc_text.txt" review_text 100
write "$out/kowiki20.txt" head -c 20000000 data/kowiki.txt
write "$out/mix20.txt" cat "$out/kowiki20.txt" "$out/nsmc_text.txt"

# 2. Vocab on kowiki + review text: 18.7 tokens per test review instead of 23.1 with the quickstart's kowiki-only
#    vocab (16.7 with a vocab trained on the reviews alone: step 12).
if main; then once "$out/mix20.model" python vocab.py --input "$out/mix20.txt" --prefix "$out/mix20"; fi

# 3. Span-masked data at 128 tokens: five differently masked copies of the reviews, one of kowiki.
spans() {  # file-name prefix ("" or NAME_ as in step 12), vocab model, optional sequence length (128), data.py flags
  local pre=$1 vocab=$2 n_seq=${3:-128}; shift $(($# < 3 ? $# : 3))
  once "$out/${pre}nsmc_span.json" python data.py --input "$out/nsmc_text.txt" --vocab "$vocab" \
    --output "$out/${pre}nsmc_span.json" --n_seq "$n_seq" --dupe 5 "$@"
  kowiki_spans "$pre" "$vocab" "$n_seq" "$@"
  write "$out/${pre}mix_span.json" cat "$out/${pre}nsmc_span.json" "$out/${pre}kowiki20_span.json"
}
kowiki_spans() {  # the kowiki part of spans(), masked once: file-name prefix, vocab model, sequence length, data.py flags
  local pre=$1 vocab=$2 n_seq=$3; shift 3
  once "$out/${pre}kowiki20_span.json" python data.py --input "$out/kowiki20.txt" --vocab "$vocab" \
    --output "$out/${pre}kowiki20_span.json" --n_seq "$n_seq" --dupe 1 "$@"
}
if main; then spans "" "$out/mix20.model"; fi

# 4. Pretraining, MLM + SBO: 4,500 steps of 32 sequences (about 52 minutes on 2 cores), on reviews +
#    kowiki ("pre"), and for comparison on the kowiki slice alone ("prewiki").
pretrain() {  # name, span data, then extra flags (a later --config or --vocab wins)
  local name=$1 input=$2; shift 2
  once "$out/$name.pth" python pretrain.py --config config_tiny.json --vocab "$out/mix20.model" --input "$input" \
    --save "$out/$name.pth" --epoch 1 --max_steps 4500 --batch 32 --lr 1e-3 --warmup 0.05 --log_every 50 \
    --save_every 500 --resume "$@"
  # -u: a skipped step's older log in runs/exp must not overwrite the one in results/ (a fresh clone's is newer)
  cp -u "$out/$name.jsonl" "results/pretrain-$name.jsonl"
}
if main; then pretrain pre "$out/mix_span.json"; fi

# 4b. Does the encoder use its context? MLM and SBO loss by position in the span on kowiki text no
#     pretraining saw (the last 2 MB of the sample), beside a context-blind unigram guess.
write "$out/heldout.txt" bash -c 'tail -c 2000000 data/kowiki.txt | tail -n +2'
heldout_spans() {  # file-name prefix as in spans(), vocab model, sequence length: that text, span-masked once
  once "$out/${1}heldout_span.json" python data.py --input "$out/heldout.txt" --vocab "$2" \
    --output "$out/${1}heldout_span.json" --n_seq "$3" --dupe 1
}
evaluate() {  # name of a pretraining run, then the file-name prefix and vocab of its span data as in spans()
  local pre=${2:-} vocab=${3:-$out/mix20.model}
  heldout_spans "$pre" "$vocab" 128
  write "results/eval-$1.txt" python pretrain.py --eval 2000 --save "$out/$1.pth" --vocab "$vocab" \
    --input "$out/${pre}heldout_span.json"
}
if main; then evaluate pre; fi

# 5. Fine-tuning: from scratch (the original's "pre:0") and from the pretrained encoder, 2 epochs on all
#    142,500 training reviews, best epoch by validation accuracy.
finetune() {  # name, then extra flags; train.py saves the best epoch as it goes, so a marker says "finished"
  local name=$1; shift
  once "$out/$name.done" python train.py --config config_tiny.json --vocab "$out/mix20.model" \
    --train data/ratings_train.txt --test data/ratings_test.txt --epoch 2 --batch 64 --lr 2e-4 \
    --save "$out/$name.pth" --resume "$@"
  touch "$out/$name.done"
  cp -u "$out/$name.jsonl" "results/$name.jsonl"
}
if main; then
  finetune scratch-max --pooling max
  finetune pre-max --pretrain "$out/pre.pth" --pooling max
  finetune pre-cls --pretrain "$out/pre.pth" --pooling cls
  finetune pre-mean --pretrain "$out/pre.pth" --pooling mean
  for seed in 1 2; do  # spread over fine-tuning seeds for the best row
    finetune "pre-max-seed$seed" --pretrain "$out/pre.pth" --pooling max --seed "$seed"
  done
fi

# 6. The bar to clear: character 1-3-gram TF-IDF + logistic regression (scikit-learn, experiments only).
if main; then
  python -c "import sklearn" 2>/dev/null || python -m pip install -q scikit-learn
  once results/tfidf.jsonl python baseline.py --out results/tfidf.jsonl
fi

# 7. Optional (another 40 minutes; run with SEEDS=1): the same spread for the row without pretraining.
if [ "${SEEDS:-0}" = 1 ]; then
  for seed in 1 2; do finetune "scratch-max-seed$seed" --pooling max --seed "$seed"; done
fi

# 8. Optional (about 70 minutes on 2 cores; run with PREWIKI=1): the same pretraining budget on kowiki text
#    alone, the first 60 MB of the sample masked once (170,031 sequences, so no sequence is seen twice), then
#    the best row's fine-tuning from it. The vocab is the same mix20 one, so only the pretraining text differs.
if [ "${PREWIKI:-0}" = 1 ]; then
  write "$out/kowiki60.txt" head -c 60000000 data/kowiki.txt
  once "$out/kowiki60_span.json" python data.py --input "$out/kowiki60.txt" --vocab "$out/mix20.model" \
    --output "$out/kowiki60_span.json" --n_seq 128 --dupe 1
  pretrain prewiki "$out/kowiki60_span.json"
  evaluate prewiki
  finetune prewiki-max --pretrain "$out/prewiki.pth" --pooling max
fi

# 9. Optional (about 17 minutes per run; run with LR=1): higher fine-tuning learning rates, 5e-4 and 1e-3
#    instead of 2e-4, for the max-pooling rows with and without pretraining (chosen, like everything, on
#    validation).
if [ "${LR:-0}" = 1 ]; then
  for lr in 5e-4 1e-3; do
    finetune "scratch-max-lr$lr" --pooling max --lr "$lr"
    finetune "pre-max-lr$lr" --pretrain "$out/pre.pth" --pooling max --lr "$lr"
  done
fi

# 10. Optional (about 70 minutes on 2 cores; run with NODROP=1): the same pretraining without dropout (short
#     pretraining runs underfit, so dropout may only slow them; it also lets attention take the SDPA path),
#     then the best row's fine-tuning from it, with the usual dropout 0.1.
if [ "${NODROP:-0}" = 1 ]; then
  write "$out/config_tiny_nodrop.json" python -c '
import json; c = json.load(open("config_tiny.json")); c["dropout"] = 0.0; print(json.dumps(c, indent=4))'
  pretrain prenodrop "$out/mix_span.json" --config "$out/config_tiny_nodrop.json"
  evaluate prenodrop
  finetune prenodrop-max --pretrain "$out/prenodrop.pth" --pooling max
fi

# 11. Optional (about 80 minutes on 2 cores; run with SMALL=1): does pretraining pay off when labels are
#     few? The first 5,000 and 20,000 training reviews, three seeds each, 5% held out for
#     validation as above, with more epochs so that the runs take enough steps, from scratch and from the
#     pretrained encoder. Only the first 10,000 test reviews are scored: at this size scoring all 50,000
#     after every epoch would take longer than the training.
small() {  # training reviews, epochs, seed
  local flags=(--pooling max --max_train "$1" --max_test 10000 --epoch "$2" --seed "$3")
  finetune "scratch-max-n$1-seed$3" "${flags[@]}"
  finetune "pre-max-n$1-seed$3" --pretrain "$out/pre.pth" "${flags[@]}"
}
if [ "${SMALL:-0}" = 1 ]; then
  for seed in 42 1 2; do small 5000 10 "$seed"; small 20000 5 "$seed"; done
fi

# 12. Optional (about 2.9 hours on 2 cores; run with REVIEWVOCAB=1): a vocab trained on the training
#     reviews alone. A quarter of the mix20 vocab are pieces the test reviews never use (they use
#     6,079 of its ids, 7,971 of this one's), and this one takes 16.7 tokens per review instead of
#     18.7. Then the same pretraining recipe with it (step 3's span data, step 4's flags) and
#     fine-tuning with and without it, three seeds each. REVIEWVOCAB16=1 (about 3.3 hours) repeats it with
#     16,000 pieces: the 8,000-piece vocab uses nearly all its ids, so it may be too small.
reviewvocab_model() {  # name (rv, rv16), pieces: the vocab from the review text
  once "$out/$1.model" python vocab.py --input "$out/nsmc_text.txt" --prefix "$out/$1" --vocab_size "$2"
}
reviewvocab_data() {  # name, pieces: that vocab and its span data
  reviewvocab_model "$1" "$2"
  spans "${1}_" "$out/$1.model"
}
reviewvocab() {  # name (rv, rv16), pieces
  local n=$1
  reviewvocab_data "$n" "$2"
  finetune "scratch-$n-max" --pooling max --vocab "$out/$n.model"
  pretrain "pre$n" "$out/${n}_mix_span.json" --vocab "$out/$n.model"
  evaluate "pre$n" "${n}_" "$out/$n.model"
  finetune "pre$n-max" --pretrain "$out/pre$n.pth" --pooling max --vocab "$out/$n.model"
  for seed in 1 2; do
    finetune "pre$n-max-seed$seed" --pretrain "$out/pre$n.pth" --pooling max --vocab "$out/$n.model" --seed "$seed"
    finetune "scratch-$n-max-seed$seed" --pooling max --vocab "$out/$n.model" --seed "$seed"
  done
}
if [ "${REVIEWVOCAB:-0}" = 1 ]; then reviewvocab rv 8000; fi
if [ "${REVIEWVOCAB16:-0}" = 1 ]; then reviewvocab rv16 16000; fi

# 13. Optional (about 50 minutes on 2 cores; run with PROBE=1): linear probes. The encoder stays fixed
#     (train.py --freeze) and only the output layer trains on its max-pooled states, so the gap between the
#     pretrained encoder and a random one is what pretraining alone put there. For step 4's encoder and,
#     when REVIEWVOCAB16=1 has run, for prerv16.
probe() {  # vocab name, vocab model, pretraining run
  local lr sfx
  for lr in 1e-3 1e-2; do  # a linear layer wants a higher rate than fine-tuning; validation picks
    sfx=$([ "$lr" = 1e-3 ] || echo "-lr$lr")
    finetune "probe-scratch-$1$sfx" --freeze --pooling max --vocab "$2" --lr "$lr"
    finetune "probe-$3$sfx" --freeze --pretrain "$out/$3.pth" --pooling max --vocab "$2" --lr "$lr"
  done
}
if [ "${PROBE:-0}" = 1 ]; then
  probe mix20 "$out/mix20.model" pre
  if [ -e "$out/prerv16.pth" ]; then probe rv16 "$out/rv16.model" prerv16; fi
fi

# 14. Optional (about 90 minutes on 2 cores; run with BUDGET=1): how the gain grows with the pretraining budget.
#     Step 12's pretraining with the 8,000-piece review vocab stopped at half and a quarter of the budget,
#     2,250 and 1,125 steps (same span data, lr and warmup fraction, so the schedule is the same shape, shorter),
#     then the same fine-tuning, to set beside step 12's rows (REVIEWVOCAB=1). Makes step 12's vocab and span
#     data if missing.
pretrain_rv() {  # name, pretraining steps, then extra pretraining flags: pretraining and its held-out score
  local name=$1 steps=$2; shift 2
  pretrain "$name" "$out/rv_mix_span.json" --vocab "$out/rv.model" --max_steps "$steps" "$@"
  evaluate "$name" rv_ "$out/rv.model"
}
budget() {  # as pretrain_rv, then the fine-tuning
  pretrain_rv "$@"
  finetune "$1-max" --pretrain "$out/$1.pth" --pooling max --vocab "$out/rv.model"
}
if [ "${BUDGET:-0}" = 1 ]; then
  reviewvocab_data rv 8000
  budget prerv-half 2250
  budget prerv-quarter 1125
fi

# 15. Optional (about 60 minutes on 2 cores, 100 on a slow day; run with SEQ64=1): sequence length matched to the task. NSMC
#     reviews average 17 tokens, so 128-token pretraining sequences pack several reviews and kowiki text the task
#     never shows. Step 14's half budget again (2,250 steps, review vocab) on 64-token sequences, 64 per batch:
#     the same tokens per step and in all, only the length differs. Both encoders are scored on held-out kowiki
#     cut at 64 tokens (positions past 64 were never trained in this one).
spans_short() {  # file-name prefix, vocab model, sequence length: step 3's span data and step 4b's held-out text
  local pre=$1 vocab=$2 n_seq=$3
  spans "$pre" "$vocab" "$n_seq"
  heldout_spans "$pre" "$vocab" "$n_seq"
}
evaluate_short() {  # pretraining run (skipped when it has not run), vocab model, spans_short prefix, length: held-out score
  if [ -e "$out/$1.pth" ]; then write "results/eval$4-$1.txt" python pretrain.py --eval 4000 --save "$out/$1.pth" \
    --vocab "$2" --input "$out/${3}heldout_span.json"; fi
}
if [ "${SEQ64:-0}" = 1 ]; then
  reviewvocab_data rv 8000
  spans_short rv64_ "$out/rv.model" 64
  pretrain prerv-seq64 "$out/rv64_mix_span.json" --vocab "$out/rv.model" --max_steps 2250 --batch 64
  for n in prerv-seq64 prerv-half; do evaluate_short "$n" "$out/rv.model" rv64_ 64; done  # prerv-half when BUDGET=1 made it
  finetune prerv-seq64-max --pretrain "$out/prerv-seq64.pth" --pooling max --vocab "$out/rv.model"
fi

# 16. Optional (about 35 minutes per run on 2 cores; run with EPOCHS=1): are two fine-tuning epochs too few? Every
#     row above chose its last epoch, so step 12's 16,000-piece rows again with 3 epochs (the rate now decays over
#     three): from scratch and, when REVIEWVOCAB16=1 has made prerv16, from that encoder.
if [ "${EPOCHS:-0}" = 1 ]; then
  reviewvocab_model rv16 16000
  finetune scratch-rv16-max-ep3 --pooling max --vocab "$out/rv16.model" --epoch 3
  if [ -e "$out/prerv16.pth" ]; then
    finetune prerv16-max-ep3 --pretrain "$out/prerv16.pth" --pooling max --vocab "$out/rv16.model" --epoch 3
  fi
fi

# 17. Optional (about 110 minutes on 2 cores; run with SCHEDULE=1): the pretraining schedule. At 1,125 steps
#     (step 14) the encoder had barely begun to use the context and fell behind the longer runs early, with a
#     shorter warmup (5% is 56 steps there, 225 in the full budget) and a sooner decay. The same run with twice
#     the rate (lr 2e-3), with 20% warmup (225 steps), and with 20% warmup at half the rate (5e-4). Held-out loss
#     is the pretraining's validation: the two that lose on it to lr 1e-3 with 20% warmup are not fine-tuned.
if [ "${SCHEDULE:-0}" = 1 ]; then
  reviewvocab_data rv 8000
  pretrain_rv prerv-quarter-lr2e-3 1125 --lr 2e-3
  pretrain_rv prerv-quarter-wu20-lr5e-4 1125 --warmup 0.2 --lr 5e-4
  budget prerv-quarter-wu20 1125 --warmup 0.2
  for seed in 1 2; do  # is its gain over the model from scratch more than seed noise?
    finetune "prerv-quarter-wu20-max-seed$seed" --pretrain "$out/prerv-quarter-wu20.pth" --pooling max \
      --vocab "$out/rv.model" --seed "$seed"
  done
fi

# 18. Optional (about 2.1 hours on 2 cores; run with SEQ64FULL=1): step 15's 64-token sequences at the full
#     budget, with the best row's 16,000-piece review vocab (step 12's REVIEWVOCAB16=1): 4,500 steps of 64 × 64
#     tokens, the tokens per step and in all of the 128-token runs, then fine-tuning with three seeds, to set
#     beside prerv16-max and its seeds.
seqfull() {  # sequence length, sequences per batch (their product 4,096 tokens, as 32 × 128), masking, then the
  # encoders to score beside it on held-out text cut at that length. Masking: min1 = data.py's default, at least
  # one span per sequence; share15 = --allow_unmasked, 15% of the tokens whatever the length (step 20)
  local n_seq=$1 batch=$2 masking=$3 name=prerv16-seq$1 pre=rv16_$1_; shift 3
  reviewvocab_model rv16 16000
  if [ "$masking" = share15 ]; then  # its own training data; the default's held-out cut, to score both alike
    name+=-share15 pre=rv16_${n_seq}share15_
    spans "$pre" "$out/rv16.model" "$n_seq" --allow_unmasked
    heldout_spans "rv16_${n_seq}_" "$out/rv16.model" "$n_seq"
  else
    spans_short "$pre" "$out/rv16.model" "$n_seq"
  fi
  pretrain "$name" "$out/${pre}mix_span.json" --vocab "$out/rv16.model" --batch "$batch"
  for n in "$name" "$@"; do evaluate_short "$n" "$out/rv16.model" "rv16_${n_seq}_" "$n_seq"; done
  finetune "$name-max" --pretrain "$out/$name.pth" --pooling max --vocab "$out/rv16.model"
  for seed in 1 2; do
    finetune "$name-max-seed$seed" --pretrain "$out/$name.pth" --pooling max --vocab "$out/rv16.model" --seed "$seed"
  done
  if [ "${PROBE:-0}" = 1 ]; then probe rv16 "$out/rv16.model" "$name"; fi  # step 13's probes, this encoder
}
if [ "${SEQ64FULL:-0}" = 1 ]; then seqfull 64 64 min1 prerv16; fi  # prerv16 when REVIEWVOCAB16=1 made it

# 19. Optional (about 2.1 hours on 2 cores; run with SEQ32FULL=1): shorter still. At 64 tokens a sequence packs
#     about four reviews; at 32 about two (90% of the training reviews are 30 pieces or fewer; fine-tuning still
#     reads up to 128). 4,500 steps of 128 × 32 tokens, same tokens again. Every sequence gets at least one span,
#     so about 25% of the tokens are masked here (19% at 64 tokens, 16% at 128), in shorter spans.
if [ "${SEQ32FULL:-0}" = 1 ]; then seqfull 32 128 min1 prerv16-seq64 prerv16; fi

# 20. Optional (about 2.1 hours on 2 cores; run with SEQ32SHARE=1): context or masking? Step 19 masks 25% of
#     the tokens in shorter spans, so its gain over 64 and 128 tokens may come from the masking. The same run on
#     data made with data.py --allow_unmasked, which lets a sequence go without a span so that 15% of the tokens
#     are masked at any length, as in the paper; scored on step 19's held-out cut, beside step 19's encoder.
if [ "${SEQ32SHARE:-0}" = 1 ]; then seqfull 32 128 share15 prerv16-seq32; fi

# 21. Optional (about 2.1 hours on 2 cores; run with SEQ32REV=1): one review per sequence. data.py packs a
#     pseudo-document's lines greedily, so step 19's 32-token sequences hold 1.6 reviews on average; here every
#     review is a document of its own, so a sequence is [CLS] review [SEP] as in fine-tuning (a review over 30
#     pieces is cut in two). Step 19's kowiki part, budget (4,500 steps of 128 sequences, so fewer real tokens:
#     a review sequence holds 13.3 pieces, step 19's 23.6) and held-out cut. Sequences this short mask 31% of
#     their tokens (at least one span each), against 24% in step 19's review part.
if [ "${SEQ32REV:-0}" = 1 ]; then
  reviewvocab_model rv16 16000
  write "$out/nsmc_rev.txt" review_text 1
  once "$out/rv16_32rev_nsmc_span.json" python data.py --input "$out/nsmc_rev.txt" --vocab "$out/rv16.model" \
    --output "$out/rv16_32rev_nsmc_span.json" --n_seq 32 --dupe 5
  kowiki_spans rv16_32_ "$out/rv16.model" 32  # step 19's kowiki part and held-out cut
  heldout_spans rv16_32_ "$out/rv16.model" 32
  write "$out/rv16_32rev_mix_span.json" cat "$out/rv16_32rev_nsmc_span.json" "$out/rv16_32_kowiki20_span.json"
  pretrain prerv16-seq32rev "$out/rv16_32rev_mix_span.json" --vocab "$out/rv16.model" --batch 128
  for n in prerv16-seq32rev prerv16-seq32; do evaluate_short "$n" "$out/rv16.model" rv16_32_ 32; done
  finetune prerv16-seq32rev-max --pretrain "$out/prerv16-seq32rev.pth" --pooling max --vocab "$out/rv16.model"
  for seed in 1 2; do
    finetune "prerv16-seq32rev-max-seed$seed" --pretrain "$out/prerv16-seq32rev.pth" --pooling max \
      --vocab "$out/rv16.model" --seed "$seed"
  done
fi

# 22. Optional (about 3 hours on 2 cores; run with REVWHOLE=1): step 21 with whole reviews and batches
#     grouped by length. Step 21 cuts the 10% of reviews longer than 30 pieces in two, so the positions past 32
#     that fine-tuning reads were never pretrained; here a review is a sequence of up to 128 tokens (the longest
#     training review is 116 pieces), and pretrain.py --group_by_length batches sequences of similar length, so
#     the long ones pad no one else (random batches of these sequences are 45% padding, grouped 9%). Step 21's
#     kowiki part, held-out cut, budget (4,500 steps of 128 sequences), rate and fine-tuning, three seeds.
if [ "${REVWHOLE:-0}" = 1 ]; then
  reviewvocab_model rv16 16000
  write "$out/nsmc_rev.txt" review_text 1
  once "$out/rv16_rev_nsmc_span.json" python data.py --input "$out/nsmc_rev.txt" --vocab "$out/rv16.model" \
    --output "$out/rv16_rev_nsmc_span.json" --n_seq 128 --dupe 5
  kowiki_spans rv16_32_ "$out/rv16.model" 32
  heldout_spans rv16_32_ "$out/rv16.model" 32
  write "$out/rv16_rev_mix_span.json" cat "$out/rv16_rev_nsmc_span.json" "$out/rv16_32_kowiki20_span.json"
  pretrain prerv16-rev "$out/rv16_rev_mix_span.json" --vocab "$out/rv16.model" --batch 128 --group_by_length
  evaluate_short prerv16-rev "$out/rv16.model" rv16_32_ 32
  for seed in 42 1 2; do
    finetune "prerv16-rev-max$([ "$seed" = 42 ] || echo "-seed$seed")" --pretrain "$out/prerv16-rev.pth" \
      --pooling max --vocab "$out/rv16.model" --seed "$seed"
  done
fi

# 23. Optional (about 3 hours on 2 cores; run with MASK30=1): more prediction targets. Step 22's sequences
#     mask 30% of the review tokens already (the one-span floor: 15% of a 15-piece review is less than a span);
#     here data.py --mask_prob 0.3 for both parts, about 40% of the review tokens and a third more targets per
#     step, the rate Wettig et al. (EACL 2023) found better than 15% for BERT (though less so for smaller models
#     and span masking). Everything else is step 22's: whole reviews, kowiki at 32 tokens, grouped batches.
revmask_pretrain() {  # tag (30), --mask_prob (0.3), then optionally a name suffix and extra pretrain.py flags:
  # step 22's span data at that mask rate for both parts, pretraining
  local tag=$1 prob=$2 name=prerv16-rev-mask$1${3:-}
  shift 2; shift $(( $# > 0 ? 1 : 0 ))
  reviewvocab_model rv16 16000
  write "$out/nsmc_rev.txt" review_text 1
  once "$out/rv16_rev${tag}_nsmc_span.json" python data.py --input "$out/nsmc_rev.txt" --vocab "$out/rv16.model" \
    --output "$out/rv16_rev${tag}_nsmc_span.json" --n_seq 128 --dupe 5 --mask_prob "$prob"
  kowiki_spans "rv16_32m${tag}_" "$out/rv16.model" 32 --mask_prob "$prob"
  heldout_spans rv16_32_ "$out/rv16.model" 32
  write "$out/rv16_rev${tag}_mix_span.json" cat "$out/rv16_rev${tag}_nsmc_span.json" "$out/rv16_32m${tag}_kowiki20_span.json"
  pretrain "$name" "$out/rv16_rev${tag}_mix_span.json" --vocab "$out/rv16.model" --batch 128 --group_by_length "$@"
  evaluate_short "$name" "$out/rv16.model" rv16_32_ 32
}
revmask() {  # tag, --mask_prob: revmask_pretrain, then three fine-tuning seeds
  local name=prerv16-rev-mask$1
  revmask_pretrain "$@"
  for seed in 42 1 2; do
    finetune "$name-max$([ "$seed" = 42 ] || echo "-seed$seed")" --pretrain "$out/$name.pth" \
      --pooling max --vocab "$out/rv16.model" --seed "$seed"
  done
}
if [ "${MASK30:-0}" = 1 ]; then revmask 30 0.3; fi

# 24. Optional (about 3 hours on 2 cores; run with MASK40=1): more targets still. Step 23's rate raised the masked
#     share of the review part from 29% to 40% and helped; --mask_prob 0.4 masks 48% of it (30,000 reviews:
#     0.15 → 29.5%, 0.3 → 40.2%, 0.4 → 47.7%), to see whether the gain goes on or turns. Otherwise step 23.
if [ "${MASK40:-0}" = 1 ]; then revmask 40 0.4; fi

best_finetunes() {  # the row validation picks: step 24's encoder fine-tuned for 3 epochs at 2e-4, seeds 42, 1, 2
  for seed in 42 1 2; do
    finetune "prerv16-rev-mask40-max-ep3$([ "$seed" = 42 ] || echo "-seed$seed")" \
      --pretrain "$out/prerv16-rev-mask40.pth" --pooling max --vocab "$out/rv16.model" --epoch 3 --seed "$seed"
  done
}

# 25. Optional (about 2 hours on 2 cores; run with FTSCHED=1 after MASK40=1 in the same checkout): the
#     fine-tuning schedule, which every row above shares (lr 2e-4, 2 epochs). For step 24's encoder, seed 42: lr
#     1e-4 and 5e-4, and 3 epochs at 2e-4; the model from scratch at both rates too, so that each side gets the
#     schedule validation picks for it (step 16 ran it for 3 epochs).
if [ "${FTSCHED:-0}" = 1 ] && [ -e "$out/prerv16-rev-mask40.pth" ]; then
  reviewvocab_model rv16 16000
  for lr in 1e-4 5e-4; do
    finetune "prerv16-rev-mask40-max-lr$lr" --pretrain "$out/prerv16-rev-mask40.pth" --pooling max \
      --vocab "$out/rv16.model" --lr "$lr"
    finetune "scratch-rv16-max-lr$lr" --pooling max --vocab "$out/rv16.model" --lr "$lr"
  done
  # validation picked 1e-4 for the model from scratch (0.8628 against 0.8599 at 2e-4), 2e-4 for the pretrained one:
  # two more seeds there, so the gain is measured against scratch at its own best rate
  for seed in 1 2; do
    finetune "scratch-rv16-max-lr1e-4-seed$seed" --pooling max --vocab "$out/rv16.model" --lr 1e-4 --seed "$seed"
  done
  # validation picked the 3-epoch schedule (its epoch 2: 0.8797 against 0.8779) for the pretrained one: two more seeds
  best_finetunes
fi

# 26. Optional (about 1.7 hours on 2 cores; run with MASK50=1): does the gain from more targets turn? Step 24 at
#     --mask_prob 0.5. Otherwise step 23.
if [ "${MASK50:-0}" = 1 ]; then revmask 50 0.5; fi

# 27. Optional (about 80 minutes on 2 cores; run with PRESEED=1): every row above comes from one pretraining
#     seed. The row validation picks (step 24's span data, step 25's 3-epoch schedule) again with pretraining
#     seed 1 (initial weights, batch order, dropout; the same masks), fine-tuned with seed 42.
if [ "${PRESEED:-0}" = 1 ]; then
  revmask_pretrain 40 0.4 -pseed1 --seed 1
  finetune prerv16-rev-mask40-pseed1-max-ep3 --pretrain "$out/prerv16-rev-mask40-pseed1.pth" --pooling max \
    --vocab "$out/rv16.model" --epoch 3
fi

# BEST=1 (about 2 hours on 2 cores, vocab to the third seed): only the row validation picks, with MAIN=0.
#   MAIN=0 BEST=1 bash experiments.sh
if [ "${BEST:-0}" = 1 ]; then
  revmask_pretrain 40 0.4
  best_finetunes
fi

# 28. Curves: one per fine-tuning row whose log is in results/ (optional rows when they were run), the
#     linear probes apart, and the pretraining losses.
finished() {  # fine-tuning row names → the logs of those that finished (finetune copies a log there when done)
  local name
  for name; do if [ -e "results/$name.jsonl" ]; then echo "results/$name.jsonl"; fi; done
}
mapfile -t logs < <(finished scratch-max pre-cls pre-mean pre-max prewiki-max scratch-max-lr5e-4 pre-max-lr5e-4 \
  scratch-max-lr1e-3 pre-max-lr1e-3 prenodrop-max scratch-rv-max prerv-quarter-max prerv-half-max prerv-seq64-max prerv-max scratch-rv16-max prerv16-max \
  scratch-rv16-max-ep3 prerv16-max-ep3 prerv-quarter-wu20-max prerv16-seq64-max prerv16-seq32-max prerv16-seq32-share15-max \
  prerv16-seq32rev-max prerv16-rev-max prerv16-rev-mask30-max prerv16-rev-mask40-max prerv16-rev-mask50-max \
  scratch-rv16-max-lr1e-4 scratch-rv16-max-lr5e-4 prerv16-rev-mask40-max-lr1e-4 prerv16-rev-mask40-max-lr5e-4 \
  prerv16-rev-mask40-max-ep3 prerv16-rev-mask40-pseed1-max-ep3)
python plot.py "${logs[@]}" --out img
# probes in a folder of their own: at 0.6 they would squeeze the fine-tuning curves into a thin band
mapfile -t probes < <(finished probe-scratch-mix20 probe-pre probe-scratch-rv16 probe-prerv16 probe-prerv16-seq64 \
  probe-prerv16-seq32-lr1e-2)  # the rate validation chose for that probe
if [ ${#probes[@]} -gt 0 ]; then python plot.py "${probes[@]}" --out img/probe; fi
pre_logs=(results/pretrain-pre.jsonl) pre_labels=(reviews+kowiki)
pretrained() {  # pretraining run name, plot label: its loss curve when it ran
  if [ -e "results/pretrain-$1.jsonl" ]; then pre_logs+=("results/pretrain-$1.jsonl") pre_labels+=("$2"); fi
}
pretrained prewiki kowiki
pretrained prenodrop "reviews+kowiki, dropout 0"
pretrained prerv "reviews+kowiki, review vocab"
pretrained prerv16 "reviews+kowiki, review vocab 16k"
pretrained prerv-half "reviews+kowiki, review vocab, half budget"
pretrained prerv-quarter "reviews+kowiki, review vocab, quarter budget"
pretrained prerv-seq64 "reviews+kowiki, review vocab, half budget, 64 tokens"
pretrained prerv-quarter-lr2e-3 "reviews+kowiki, review vocab, quarter budget, lr 2e-3"
pretrained prerv-quarter-wu20 "reviews+kowiki, review vocab, quarter budget, 20% warmup"
pretrained prerv-quarter-wu20-lr5e-4 "reviews+kowiki, review vocab, quarter budget, 20% warmup, lr 5e-4"
pretrained prerv16-seq64 "reviews+kowiki, review vocab 16k, 64 tokens"
pretrained prerv16-seq32 "reviews+kowiki, review vocab 16k, 32 tokens"
pretrained prerv16-seq32-share15 "reviews+kowiki, review vocab 16k, 32 tokens, 15% masked"
pretrained prerv16-seq32rev "reviews+kowiki, review vocab 16k, 32 tokens, one review each"
pretrained prerv16-rev "reviews+kowiki, review vocab 16k, whole reviews, grouped by length"
pretrained prerv16-rev-mask30 "reviews+kowiki, review vocab 16k, whole reviews, --mask_prob 0.3"
pretrained prerv16-rev-mask40 "reviews+kowiki, review vocab 16k, whole reviews, --mask_prob 0.4"
pretrained prerv16-rev-mask50 "reviews+kowiki, review vocab 16k, whole reviews, --mask_prob 0.5"
pretrained prerv16-rev-mask40-pseed1 "reviews+kowiki, review vocab 16k, whole reviews, --mask_prob 0.4, seed 1"
python plot.py "${pre_logs[@]}" --labels "${pre_labels[@]}" --out img
