#!/usr/bin/env bash
# The headline rows: the recipe validation picks against the model from scratch and TF-IDF, on NSMC.
# Answers: how far does SpanBERT pretraining on CPU get on NSMC, against the same model untrained and a
# character TF-IDF? The recipe: a 16,000-piece BPE vocab of the training reviews; span data of every
# training review whole (5 masked copies, data.py --mask_prob 0.4) plus 20 MB of kowiki at 32 tokens;
# 4,500 pretraining steps of 128 sequences grouped by length (config_tiny); fine-tuning 3 epochs at 2e-4.
# The model from scratch gets the rate validation picks for it (1e-4). Three fine-tuning seeds each.
# Inputs: data/kowiki.txt, data/ratings_train.txt, data/ratings_test.txt.
# Outputs: results/best/ (pretraining log, held-out scores, fine-tuning logs, tfidf.jsonl), img/headline_*.svg.
# Time on 2 cores (Intel Xeon with AMX): vocab and span data 2 minutes, pretraining about 60 minutes,
# 18 minutes per 3-epoch fine-tuning, 12 per run from scratch, TF-IDF 1: about 2.6 hours in all.
RES=results/best
source "$(dirname "$0")/lib.sh"

whole_encoder rv16-whole-m40 0.4
seeds nsmc-rv16-whole-m40-ep3 rv16 --pretrain "$out/rv16-whole-m40.pth" --epoch 3
seeds nsmc-scratch-rv16-lr1e-4 rv16 --lr 1e-4
python -c "import sklearn" 2>/dev/null || dry || python -m pip install -q scikit-learn
once "$RES/tfidf.jsonl" python baseline.py --train "$data/ratings_train.txt" --test "$data/ratings_test.txt" \
  --out "$RES/tfidf.jsonl"
dry || python plot.py --headline
