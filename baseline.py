"""The bar any neural model here must clear: character 1-3-gram TF-IDF + logistic regression on NSMC.

    pip install scikit-learn      # used only here, not by the pipeline
    python baseline.py --train data/ratings_train.txt --test data/ratings_test.txt --out results/tfidf.jsonl

C is chosen on the same seeded validation split that train.py holds out, never on the test set; the
chosen model is refit on the training split only and scored once on the test set.
"""
import json
import time

import numpy as np

from cli import atomic_open, Parser, run_main, UserError
from data import read_nsmc


def main():
    p = Parser(__doc__)
    p.add_argument("--train", default="data/ratings_train.txt", help="NSMC training file (default: %(default)s)")
    p.add_argument("--test", default="data/ratings_test.txt", help="NSMC test file (default: %(default)s)")
    p.add_argument("--val_ratio", type=float, default=0.05, help="held-out share, as in train.py (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="split seed, as in train.py (default: %(default)s)")
    p.add_argument("--C", type=float, nargs="+", default=[1.0, 3.0, 10.0], help="inverse regularization strengths to try")
    p.add_argument("--out", help="write the result as one JSON line here")
    args = p.parse_args()
    if not 0 < args.val_ratio < 1:
        raise UserError(f"--val_ratio {args.val_ratio}: must be between 0 and 1")
    if min(args.C) <= 0:
        raise UserError(f"--C {min(args.C)}: must be positive")
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise UserError("baseline.py needs scikit-learn: pip install scikit-learn")

    t0 = time.time()
    docs, labels = read_nsmc(args.train)
    test_docs, test_labels = read_nsmc(args.test)
    perm = np.random.default_rng(args.seed).permutation(len(docs))  # the same split as train.py
    n_val = max(1, int(round(len(docs) * args.val_ratio)))
    val, train = perm[:n_val], np.sort(perm[n_val:])
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    x_train = vec.fit_transform([docs[i] for i in train])
    x_val, x_test = vec.transform([docs[i] for i in val]), vec.transform(test_docs)
    scores = {}
    for c in args.C:
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, labels[train])
        scores[c] = (model.score(x_val, labels[val]), model)
        print(f"C={c}: val acc {scores[c][0]:.4f}")
    best = max(scores, key=lambda c: scores[c][0])
    result = {"run": "tfidf-char1-3-logreg", "C": best, "val_acc": round(scores[best][0], 4),
              "test_acc": round(scores[best][1].score(x_test, test_labels), 4), "seconds": round(time.time() - t0, 1)}
    print(f"char 1-3-gram TF-IDF + logistic regression, C={best} (chosen on validation): "
          f"NSMC test accuracy {result['test_acc']:.4f} in {result['seconds']:.0f} s")
    if args.out:
        with atomic_open(args.out) as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    run_main(main)
