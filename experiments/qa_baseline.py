"""A lexical baseline for extractive QA, for scale: the sliding-window word overlap of Richardson et al.
(2013), as the SQuAD paper used it. A candidate answer is 1 to L words of the context that share no word
with the question; its score is the summed inverse-count weight log(1 + 1/count) of the question's words
found within W words on either side. Words are compared with a trailing Korean particle removed (임수경을
and 임수경 match). L and W are chosen on the validation articles of qa.py's split; test is scored once.

    python experiments/qa_baseline.py --data data/KorQuAD_v1.0_dev.json      # prints one JSON line
"""
import json
import math
import os
import string
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cli import Parser, run_main  # noqa: E402
from squad import PARTICLES, score, split  # noqa: E402

PUNCT = string.punctuation + "·“”‘’《》〈〉「」『』"


def cut_particle(word):
    for p in PARTICLES:
        if word.endswith(p) and len(word) > len(p):
            return word[:-len(p)]
    return word


def stem(word):
    return cut_particle(word.strip(PUNCT).lower())


def answer(question, context, max_words, window):
    words = context.split()
    stems = [stem(w) for w in words]
    counts = {}
    for s in stems:
        counts[s] = counts.get(s, 0) + 1
    asked = {stem(w) for w in question.split()} - {""}
    best, best_score = "", -1.0
    for i in range(len(words)):
        for n in range(1, max_words + 1):
            if i + n > len(words) or any(s in asked for s in stems[i:i + n]):
                break
            near = set(stems[max(0, i - window):i]) | set(stems[i + n:i + n + window])
            value = sum(math.log(1 + 1 / counts[s]) for s in near & asked)
            if value > best_score:
                best_score, best = value, cut_particle(" ".join(words[i:i + n]).strip(PUNCT))
    return best


def evaluate(questions, max_words, window):
    return score({q.id: answer(q.text, q.context, max_words, window) for q in questions}, questions)


def main():
    p = Parser(__doc__)
    p.add_argument("--data", default="data/KorQuAD_v1.0_dev.json", help="the file qa.py splits (default: %(default)s)")
    p.add_argument("--val_articles", type=int, default=10, help="as qa.py (default: %(default)s)")
    p.add_argument("--test_articles", type=int, default=40, help="as qa.py (default: %(default)s)")
    p.add_argument("--split_seed", type=int, default=0, help="as qa.py (default: %(default)s)")
    args = p.parse_args()
    t0 = time.time()
    _, val, test = split(args.data, args.data, args.val_articles, args.test_articles, args.split_seed)
    val_q, test_q = [q for _, qs in val for q in qs], [q for _, qs in test for q in qs]
    grid = {(n, w): evaluate(val_q, n, w) for n in (1, 2, 3) for w in (4, 8, 16)}
    n, w = max(grid, key=lambda k: grid[k][1])  # validation F1
    test_em, test_f1 = evaluate(test_q, n, w)
    print(json.dumps({"run": "sliding-window word overlap", "max_words": n, "window": w,
                      "val_em": round(grid[n, w][0], 2), "val_f1": round(grid[n, w][1], 2),
                      "test_em": round(test_em, 2), "test_f1": round(test_f1, 2), "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    run_main(main)
