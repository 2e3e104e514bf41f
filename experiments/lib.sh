# Shared by the recipes in this folder; each sets RES (its results folder), then sources this file.
# Every step is skipped when its output exists, so rerunning a recipe resumes where it stopped (training
# itself resumes from its newest state, --resume). DRY_RUN=1 prints the commands instead of running them.
# Inputs: data/kowiki.txt, data/ratings_train.txt, data/ratings_test.txt (quickstart.sh links them).
# Outputs: runs/exp/ (text slices, vocabs, span data, checkpoints; gitignored, shared by all recipes) and
# the metrics logs in $RES. A log is named <task>-<encoder>[-<variant>]-s<seed>.jsonl; see results/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=runs/exp
data=data

dry() { [ "${DRY_RUN:-0}" = 1 ]; }
dry || mkdir -p "$out" "$RES"
run() { echo "+ $*"; dry || "$@"; }
once() {  # output, then the command that makes it: skipped when the output exists
  local target=$1; shift
  if [ -e "$target" ]; then echo "skip: $target exists"; else run "$@"; fi
}
write() {  # output, then a command whose stdout becomes it; a killed run leaves nothing under that name
  local target=$1; shift
  if [ -e "$target" ]; then echo "skip: $target exists"
  elif dry; then echo "+ $* > $target"
  else "$@" > "$target.tmp" && mv "$target.tmp" "$target"; fi
}
keep() {  # a log from runs/exp into $RES (-u: an older log never overwrites a newer one)
  dry || cp -u "$1" "$RES/$2"
}
merge() {  # default flags, --, the recipe's flags → the array $merged, where a default is left out when the
  # recipe names its flag: so a printed command names each flag once
  local d=() i take
  while [ "$1" != -- ]; do d+=("$1"); shift; done
  shift
  merged=()
  for ((i = 0; i < ${#d[@]}; i++)); do
    [[ ${d[i]} == --* ]] || continue
    take=("${d[i]}")
    if ((i + 1 < ${#d[@]})) && [[ ${d[i + 1]} != --* ]]; then take+=("${d[i + 1]}"); fi
    [[ " $* " == *" ${d[i]} "* ]] || merged+=("${take[@]}")
  done
  merged+=("$@")
}
need() {  # a file another recipe makes
  if [ ! -e "$1" ] && ! dry; then echo "missing $1: run experiments/$2 first" >&2; exit 2; fi
}

# ---- text: the NSMC training reviews (never the test file) and slices of the kowiki sample ----
review_text() {  # output, reviews per pseudo-document (a blank line after every N)
  write "$1" python -c '
import sys
from data import read_nsmc
docs, _ = read_nsmc(sys.argv[2])
n = int(sys.argv[1])
for i, doc in enumerate(d.strip() for d in docs if d.strip()):
    print(doc, end="\n\n" if i % n == n - 1 else "\n")' "$2" "$data/ratings_train.txt"
}
texts() {  # reviews 100 to a document, one to a document, the first 20 MB of kowiki, its last 2 MB (held out)
  review_text "$out/nsmc_text.txt" 100
  review_text "$out/nsmc_rev.txt" 1
  write "$out/kowiki20.txt" head -c 20000000 "$data/kowiki.txt"
  write "$out/heldout.txt" bash -c "tail -c 2000000 $data/kowiki.txt | tail -n +2"
}

# ---- vocabs and span data: runs/exp/<vocab>.model, runs/exp/span-<vocab>-<text><length>[-<masking>].json ----
vocab() {  # name, pieces, text
  once "$out/$1.model" python vocab.py --input "$3" --prefix "$out/$1" --vocab_size "$2"
}
review_vocab() {  # name (rv8, rv16), pieces: BPE on the training reviews alone
  texts
  vocab "$1" "$2" "$out/nsmc_text.txt"
}
spans() {  # output, text, vocab, tokens per sequence, masked copies, then data.py flags
  local o=$1 text=$2 vocab=$3 n_seq=$4 dupe=$5; shift 5
  once "$o" python data.py --input "$text" --vocab "$vocab" --output "$o" --n_seq "$n_seq" --dupe "$dupe" "$@"
}
mix_spans() {  # vocab name, length, file-name tag ("" or -share15), then data.py flags: 5 masked copies of
  # the 100-review documents and the kowiki slice once, one file
  local v=$1 n=$2 t=$3; shift 3
  spans "$out/span-$v-nsmc$n$t.json" "$out/nsmc_text.txt" "$out/$v.model" "$n" 5 "$@"
  spans "$out/span-$v-kowiki$n$t.json" "$out/kowiki20.txt" "$out/$v.model" "$n" 1 "$@"
  write "$out/span-$v-mix$n$t.json" cat "$out/span-$v-nsmc$n$t.json" "$out/span-$v-kowiki$n$t.json"
}
heldout_spans() {  # vocab name, length: the held-out kowiki text, masked once (data.py's defaults)
  spans "$out/span-$1-heldout$2.json" "$out/heldout.txt" "$out/$1.model" "$2" 1
}
whole_spans() {  # file-name tag ("" or -m40), then data.py flags: 5 masked copies of every training review,
  # whole (up to 128 tokens), and the kowiki slice at 32 tokens once, one file
  local t=$1; shift
  spans "$out/span-rv16-review128$t.json" "$out/nsmc_rev.txt" "$out/rv16.model" 128 5 "$@"
  spans "$out/span-rv16-kowiki32$t.json" "$out/kowiki20.txt" "$out/rv16.model" 32 1 "$@"
  write "$out/span-rv16-whole$t.json" cat "$out/span-rv16-review128$t.json" "$out/span-rv16-kowiki32$t.json"
  heldout_spans rv16 32
}

# ---- pretraining, held-out scores, fine-tuning: runs/exp/<name>.pth, logs in $RES ----
pretrain() {  # encoder name, vocab name, span data, then flags that differ from the shared recipe
  local name=$1 v=$2 input=$3; shift 3
  merge --config config_tiny.json --epoch 1 --max_steps 4500 --batch 32 --lr 1e-3 --warmup 0.05 --log_every 50 \
    --save_every 500 --resume -- "$@"
  once "$out/$name.pth" python pretrain.py --vocab "$out/$v.model" --input "$input" --save "$out/$name.pth" \
    "${merged[@]}"
  keep "$out/$name.jsonl" "pretrain-$name.jsonl"
}
heldout() {  # encoder name, vocab name, length, sequences: MLM/SBO by position in the span on held-out kowiki
  if [ -e "$out/$1.pth" ] || dry; then
    write "$RES/heldout$3-$1.txt" python pretrain.py --eval "$4" --save "$out/$1.pth" --vocab "$out/$2.model" \
      --input "$out/span-$2-heldout$3.json"
  fi
}
whole_encoder() {  # encoder name, --mask_prob, then pretrain.py flags: the recipe validation picks (whole
  # reviews, batches grouped by length, kowiki at 32 tokens, 128 sequences a step) at that mask rate
  local name=$1 prob=$2 t=-m${2#0.}0; shift 2  # 0.4 → span files tagged -m40
  review_vocab rv16 16000
  whole_spans "$t" --mask_prob "$prob"
  pretrain "$name" rv16 "$out/span-rv16-whole$t.json" --batch 128 --group_by_length "$@"
  heldout "$name" rv16 32 4000
}
finetune() {  # log name (nsmc-<encoder>[-<variant>]-s<seed>), vocab name, then train.py flags; train.py saves
  # its best epoch as it goes, so a marker says the run finished
  local name=$1 v=$2; shift 2
  merge --config config_tiny.json --epoch 2 --batch 64 --lr 2e-4 --pooling max --resume -- "$@"
  once "$out/$name.done" python train.py --vocab "$out/$v.model" --train "$data/ratings_train.txt" \
    --test "$data/ratings_test.txt" --save "$out/$name.pth" "${merged[@]}"
  dry || touch "$out/$name.done"
  keep "$out/$name.jsonl" "$name.jsonl"
}
seeds() {  # log name without the seed, vocab name, then train.py flags: fine-tuning seeds 42, 1 and 2
  local name=$1 v=$2 seed; shift 2
  for seed in 42 1 2; do finetune "$name-s$seed" "$v" "$@" --seed "$seed"; done
}

# ---- KorQuAD 1.0 and the kowiki text without its articles (qa.sh, ablation.sh) ----
korquad=$data/KorQuAD_v1.0_dev.json
qa_text() {  # kowiki without the KorQuAD dev articles (by title or a shared 40-character passage), its
  # last 1,000 articles held out; an 8,000-piece vocab of it (wiki8); the held-out text span-masked at 384
  once "$out/kowiki_noqa.txt" python corpus.py --input "$data/kowiki.txt" --exclude "$korquad" \
    --output "$out/kowiki_noqa.txt" --heldout 1000 --heldout_output "$out/kowiki_noqa_heldout.txt"
  vocab wiki8 8000 "$out/kowiki_noqa.txt"
  spans "$out/span-wiki8-heldout384.json" "$out/kowiki_noqa_heldout.txt" "$out/wiki8.model" 384 1
}
wiki_encoder() {  # encoder name, data.py --masking (span, word, subword), then pretrain.py flags: 5,000 steps
  # of 16 sequences of up to 384 tokens (about 23M tokens, two thirds of the text), grouped by length
  local name=$1 m=$2; shift 2
  qa_text
  spans "$out/span-wiki8-kowiki384-$m.json" "$out/kowiki_noqa.txt" "$out/wiki8.model" 384 1 --masking "$m"
  pretrain "$name" wiki8 "$out/span-wiki8-kowiki384-$m.json" --max_steps 5000 --batch 16 --group_by_length "$@"
  heldout "$name" wiki8 384 2000
}
qa_finetune() {  # log name (qa-<encoder>[-<variant>]-s<seed>), then qa.py flags: the dev file split by article
  # (90 train / 10 validation / 40 test, --split_seed 0), windows of 384 tokens, 3 epochs at 3e-4. A 32 × 384
  # step's attention tensors (about 75 MB) stay in glibc's heap instead of being mapped anew each step: 1.4x
  # faster, and a run this short does not grow much (BENCHMARKS.md)
  local name=$1; shift
  merge --config config_tiny.json --epoch 3 --batch 32 --lr 3e-4 --resume -- "$@"
  once "$out/$name.done" env MALLOC_MMAP_THRESHOLD_=1073741824 python qa.py --vocab "$out/wiki8.model" \
    --train "$korquad" --test "$korquad" --save "$out/$name.pth" "${merged[@]}"
  dry || touch "$out/$name.done"
  keep "$out/$name.jsonl" "$name.jsonl"
}
