"""SQuAD 1.1 / KorQuAD 1.0 data for qa.py: reading and splitting by article, KorQuAD's official metrics
(exact match and character-level F1), windows of tokens with their answer labels and the characters
each piece covers in the original context, and decoding logits back to an answer string. No torch.
"""
import collections
import json
import re
import string

import numpy as np

from cli import require_file, UserError
from data import CLS, PAD, SEP

# particles (josa) and copulas that end a Korean noun phrase, longest first
PARTICLES = sorted("은 는 이 가 을 를 의 에 에서 에게 께서 로 으로 와 과 도 만 이다 이며 이고 이라는 라는 라고 이라고 까지 부터 "
                   "에는 에서는 으로는 로는 와의 과의 에의 으로서 로서 처럼 보다 인 란 이란 한테 께 마다 조차 나 이나 에도 "
                   "로부터 으로부터".split(), key=len, reverse=True)
Question = collections.namedtuple("Question", "id text context answers title")  # answers: [(text, char start)]


# ---- the official KorQuAD 1.0 metrics (evaluate-v1.0: SQuAD's, F1 over characters) ----

def normalize_answer(s):
    """KorQuAD's normalization: its symbols to spaces, lowercase, no ASCII punctuation, single spaces."""
    s = re.sub("['\"《》<>〈〉()‘’]", " ", s).lower()
    return " ".join("".join(ch for ch in s if ch not in string.punctuation).split())


def exact_match(prediction, truth):
    return float(normalize_answer(prediction) == normalize_answer(truth))


def char_f1(prediction, truth):
    """F1 over the characters of the normalized strings, spaces removed."""
    pred, gold = normalize_answer(prediction).replace(" ", ""), normalize_answer(truth).replace(" ", "")
    same = sum((collections.Counter(pred) & collections.Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def score(predictions, questions):
    """(EM, F1) in percent, each the best over a question's gold answers; a missing answer scores 0."""
    em = f1 = 0.0
    for q in questions:
        pred = predictions.get(q.id, "")
        em += max(exact_match(pred, a) for a, _ in q.answers)
        f1 += max(char_f1(pred, a) for a, _ in q.answers)
    return 100 * em / len(questions), 100 * f1 / len(questions)


# ---- reading and splitting ----

def read_squad(path):
    """[(title, [Question])] of a SQuAD-format JSON file; a malformed file is one clear line."""
    require_file(path, "korquad")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})")
    except ValueError as e:
        raise UserError(f"{path}: not valid JSON ({e})")
    articles, seen = [], set()
    try:
        for a in raw["data"]:
            questions = []
            for p in a["paragraphs"]:
                context = p["context"]
                if not isinstance(context, str) or not context.strip():
                    raise UserError(f"{path}: article {a['title']!r} has an empty context")
                for q in p["qas"]:
                    qid = str(q["id"])
                    if qid in seen:
                        raise UserError(f"{path}: question id {qid} appears twice")
                    seen.add(qid)
                    answers = [(x["text"], int(x["answer_start"])) for x in q["answers"]]
                    for text, start in answers:
                        if context[start:start + len(text)] != text or not text.strip():
                            raise UserError(f"{path}: question {qid}: answer {text!r} is not at answer_start {start} "
                                            "of its context")
                    if not str(q["question"]).strip():
                        raise UserError(f"{path}: question {qid} is empty")
                    questions.append(Question(qid, str(q["question"]), context, answers, str(a["title"])))
            articles.append((str(a["title"]), questions))
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{path}: not a SQuAD-format file (data[].paragraphs[].qas[] with answers; "
                        f"{e.__class__.__name__}: {e})")
    if not any(qs for _, qs in articles):
        raise UserError(f"{path}: no questions")
    return articles


def split(train_path, test_path, n_val, n_test, seed):
    """(train, val, test) lists of articles. Two files: validation is n_val articles of the training
    file, the test file is the test set. One file: n_val and n_test of its articles, the rest train.
    The split is seeded by --split_seed alone, so every fine-tuning seed sees the same one."""
    articles = read_squad(train_path)
    rng = np.random.default_rng(seed)
    order = [articles[i] for i in rng.permutation(len(articles))]
    same = train_path == test_path
    need = n_val + (n_test if same else 0) + 1
    if len(articles) < need:
        raise UserError(f"{train_path}: {len(articles)} articles cannot give {n_val} validation"
                        + (f" and {n_test} test" if same else "") + " articles and some to train on")
    val = order[:n_val]
    if same:
        return order[n_val + n_test:], val, order[n_val:n_val + n_test]
    return order[n_val:], val, read_squad(test_path)


# ---- features: windows of tokens and where their pieces lie in the context ----

def encode_context(sp, context):
    """Piece ids of the context and each piece's characters in the original string, the space that
    SentencePiece's '▁' carries excluded: [(begin, end)]; a lone '▁' gets begin == end."""
    enc = sp.encode(context, out_type="offset_mapping")
    spans = []
    for begin, end in enc["offsets"]:
        while begin < end and context[begin].isspace():
            begin += 1
        spans.append((begin, end))
    return list(enc["ids"]), spans


def answer_tokens(spans, start, end):
    """First and last piece that overlaps the characters [start, end), or None."""
    hit = [i for i, (b, e) in enumerate(spans) if b < e and b < end and e > start]
    return (hit[0], hit[-1]) if hit else None


def windows(n_ctx, room, stride):
    """(start, length) of the context windows: BERT's doc_stride scheme."""
    out, start = [], 0
    while True:
        length = min(n_ctx - start, room)
        out.append((start, length))
        if start + length >= n_ctx:
            return out
        start += min(length, stride)


def max_context(wins, w, i):
    """Is window w the one where context token i has the most tokens on its shorter side (BERT)?"""
    def ctx_score(win):
        start, length = win
        return min(i - start, start + length - 1 - i) + 0.01 * length
    inside = [k for k, (s, n) in enumerate(wins) if s <= i < s + n]
    return max(inside, key=lambda k: ctx_score(wins[k])) == w


def features(sp, questions, n_seq, stride, max_query, train):
    """One record per window: tokens, segments, the answer's start/end in it ([CLS] = 0 when it is not
    inside; training only), the question's index, where the context starts in the sequence, which
    context tokens the window covers, and which of them have their most context here."""
    cache, out = {}, []
    for qi, q in enumerate(questions):
        if q.context not in cache:
            cache = {q.context: encode_context(sp, q.context)}  # questions come grouped by paragraph
        ctx_ids, spans = cache[q.context]
        q_ids = sp.encode(q.text)[:max_query]
        room = n_seq - len(q_ids) - 3
        if room < 1:
            raise UserError(f"--n_seq {n_seq}: leaves no room for the context after a {len(q_ids)}-token question")
        answer = answer_tokens(spans, q.answers[0][1], q.answers[0][1] + len(q.answers[0][0])) if train else None
        wins = windows(len(ctx_ids), room, stride)
        for w, (start, length) in enumerate(wins):
            offset = len(q_ids) + 2  # [CLS] question [SEP]
            label = (0, 0)
            if answer and start <= answer[0] and answer[1] < start + length:
                label = (answer[0] - start + offset, answer[1] - start + offset)
            out.append({"tokens": [CLS] + q_ids + [SEP] + ctx_ids[start:start + length] + [SEP],
                        "segment_start": offset, "label": label, "question": qi, "ctx_start": start,
                        "max_context": [max_context(wins, w, i) for i in range(start, start + length)]})
    return out


def pad(feats, rows):
    """Padded tokens and segments (B, T) int64 arrays for some windows."""
    T = max(len(feats[r]["tokens"]) for r in rows)
    tokens = np.full((len(rows), T), PAD, dtype=np.int64)
    segments = np.zeros((len(rows), T), dtype=np.int64)
    for i, r in enumerate(rows):
        n = len(feats[r]["tokens"])
        tokens[i, :n] = feats[r]["tokens"]
        segments[i, feats[r]["segment_start"]:n] = 1
    return tokens, segments


# ---- decoding ----

def strip_particle(text, last_piece):
    """Cut a particle off the answer's end when it lies inside the answer's last piece (its own piece
    would have been left out by the model): 임수경을 → 임수경."""
    for p in PARTICLES:
        if text.endswith(p) and len(text) > len(p) and last_piece > len(p):
            return text[:-len(p)]
    return text


def decode(q, spans, wins, n_best=20, max_answer=30):
    """The best answer of one question from its windows' logits: [(feature, start logits, end logits)].
    Returns (answer with particles stripped, raw answer, probability among the n-best candidates)."""
    cands = []
    for f, start_logits, end_logits in wins:
        off, n = f["segment_start"], len(f["max_context"])
        top_s = np.argsort(-start_logits)[:n_best]
        top_e = np.argsort(-end_logits)[:n_best]
        for s in top_s:
            if not off <= s < off + n or not f["max_context"][s - off]:
                continue
            for e in top_e:
                if s <= e < off + n and e - s < max_answer:
                    cands.append((start_logits[s] + end_logits[e], f["ctx_start"] + s - off, f["ctx_start"] + e - off))
    if not cands:
        return "", "", 0.0
    logits = np.array([c[0] for c in cands])
    best = int(np.argmax(logits))
    _, s, e = cands[best]
    begin, end = spans[s][0], spans[e][1]
    raw = q.context[begin:end].strip()
    prob = float(1 / np.exp(logits - logits[best]).sum())
    return strip_particle(raw, spans[e][1] - spans[e][0]), raw, prob
