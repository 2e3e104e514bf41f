#!/usr/bin/env bash
# The whole SpanBERT pipeline at small scale on CPU: vocab → span data → pretrain → fine-tune → plot.
# About 11 minutes on 2 CPU cores; ends by printing the NSMC test accuracy. Outputs go to runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")"
pip install -q -r requirements.txt

# Inputs are read from data/. Where the shared data sits beside the checkout, link it in.
mkdir -p data
for f in kowiki/kowiki.txt nsmc/ratings_train.txt nsmc/ratings_test.txt korquad/KorQuAD_v1.0_dev.json; do
  if [ ! -e "data/${f#*/}" ] && [ -e "../shared/data/$f" ]; then
    ln -s "$(cd ../shared/data && pwd)/$f" "data/${f#*/}"
  fi
done

out=runs/quickstart
mkdir -p "$out"
python vocab.py --input data/kowiki.txt --prefix "$out/kowiki"
python data.py --input data/kowiki.txt --vocab "$out/kowiki.model" --output "$out/kowiki_span.json" \
  --n_seq 128 --max_docs 4000 --dupe 1
python pretrain.py --config config_tiny.json --vocab "$out/kowiki.model" --input "$out/kowiki_span.json" \
  --save "$out/save_pretrain.pth" --epoch 1 --batch 32 --lr 5e-4
python train.py --config config_tiny.json --vocab "$out/kowiki.model" --train data/ratings_train.txt \
  --test data/ratings_test.txt --pretrain "$out/save_pretrain.pth" --save "$out/save_best.pth" \
  --max_train 40000 --epoch 2 --batch 64 --lr 2e-4 --pooling max
python plot.py "$out/save_best.jsonl" "$out/save_pretrain.jsonl" --labels quickstart quickstart --out "$out/img"
python train.py --vocab "$out/kowiki.model" --save "$out/save_best.pth" --predict "이 영화 정말 재밌다"
