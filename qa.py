"""Extractive question answering (SQuAD 1.1 / KorQuAD 1.0 format) with a SpanBERT encoder: the
span-selection task SpanBERT was made for.

    python qa.py --pretrain runs/save_pretrain.pth --train data/KorQuAD_v1.0_train.json --test data/KorQuAD_v1.0_dev.json
    python qa.py --train data/KorQuAD_v1.0_dev.json --test data/KorQuAD_v1.0_dev.json   # one file, split by article
    python qa.py --predict "문맥 …" --question "질문?"       # answer and its probability
    python qa.py --predict questions.json > predictions.json  # SQuAD-format file; EM/F1 when it has answers

Each question is read as [CLS] question [SEP] context window [SEP] (segments 0 and 1); contexts longer
than a window are cut into windows of --n_seq tokens that start --doc_stride tokens apart. A linear
head scores every token as the answer's start and end; a window without the answer points both at
[CLS]. The answer is the best-scoring start/end pair over all windows of its paragraph (start before
end, at most --max_answer tokens, the start in the window where it has the most context), mapped
back to the original context through SentencePiece's character offsets. Korean particles often merge
into the answer's last piece (임수경을 for 임수경), so a particle inside the last piece is cut off
(--particles strip; the logs also carry the scores without it). Metrics are KorQuAD 1.0's official
exact match and character-level F1. With one file for --train and --test its articles are split,
seeded and fixed, into train / validation / test; the split's titles go into the metrics log.
"""
import collections
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from cli import atomic_open, load_vocab, non_negative, Parser, positive, run_main, UserError, vocab_fingerprint
from common import (all_gather, all_reduce, autocast, check_compatible, check_finite, check_weights,
                    finish_distributed, load_checkpoint, make_optimizer, make_schedule, metrics_path, MetricsLog,
                    optimizer_step, pick_device, provenance, resume_training_state, save_checkpoint, save_root,
                    save_training_state, seed_all, shard, start_run)
from data import length_batches
from model import Config, SpanQA
from squad import decode, encode_context, features, pad, Question, read_squad, score, split

@torch.no_grad()
def predict_answers(model, sp, questions, feats, device, max_answer, rank=0, world=1, batch=64):
    """{id: answer} with and without particle stripping, and {id: probability}. Under torchrun each
    rank scores a share of the windows and the logits are gathered."""
    model.eval()
    mine = length_batches([len(f["tokens"]) for f in feats], batch)[rank::world]
    logits = {}
    for b in mine:
        tokens, segments = (torch.from_numpy(x).to(device) for x in pad(feats, b))
        with autocast(device):
            start, end = model(tokens, segments)
        for i, r in enumerate(b):
            n = len(feats[r]["tokens"])
            logits[int(r)] = (start[i, :n].float().cpu().numpy(), end[i, :n].float().cpu().numpy())
    for part in all_gather(logits) if world > 1 else []:
        logits.update(part)
    model.train()
    by_question = collections.defaultdict(list)
    for r, f in enumerate(feats):
        by_question[f["question"]].append((f, *logits[r]))
    stripped, raw, probs, spans = {}, {}, {}, {}
    for qi, q in enumerate(questions):
        if q.context not in spans:
            spans = {q.context: encode_context(sp, q.context)[1]}
        stripped[q.id], raw[q.id], probs[q.id] = decode(q, spans[q.context], by_question[qi], max_answer=max_answer)
    return stripped, raw, probs


def evaluate(model, sp, questions, feats, device, rank, world, particles, max_answer):
    """EM and F1 (percent) with the chosen particle rule and the other one, and the predictions."""
    stripped, raw, _ = predict_answers(model, sp, questions, feats, device, max_answer, rank, world)
    chosen, other = (stripped, raw) if particles == "strip" else (raw, stripped)
    return score(chosen, questions), score(other, questions), chosen


def parse_args(argv=None):
    p = Parser(__doc__)
    p.add_argument("--config", default="config_tiny.json", help="model config (default: %(default)s)")
    p.add_argument("--vocab", default="data/kowiki.model", help="SentencePiece model from vocab.py (default: %(default)s)")
    p.add_argument("--train", default="data/KorQuAD_v1.0_train.json", help="SQuAD-format training file (default: %(default)s)")
    p.add_argument("--test", default="data/KorQuAD_v1.0_dev.json",
                   help="SQuAD-format test file; the same file as --train splits it by article (default: %(default)s)")
    p.add_argument("--save", default="runs/save_qa.pth",
                   help="best-on-validation checkpoint; the .jsonl log and the predictions go beside it (default: %(default)s)")
    p.add_argument("--pretrain", default=None, help="checkpoint from pretrain.py; omit to train from scratch")
    p.add_argument("--val_articles", type=positive(), default=10, help="articles held out for validation (default: %(default)s)")
    p.add_argument("--test_articles", type=positive(), default=40,
                   help="test articles when --train and --test are one file (default: %(default)s)")
    p.add_argument("--split_seed", type=int, default=0, help="seed of the article split, fixed across runs (default: %(default)s)")
    p.add_argument("--n_seq", type=positive(), default=384, help="tokens per window incl. question and specials (default: %(default)s)")
    p.add_argument("--doc_stride", type=positive(), default=128, help="tokens between window starts (default: %(default)s)")
    p.add_argument("--max_query", type=positive(), default=64, help="question tokens kept (default: %(default)s)")
    p.add_argument("--max_answer", type=positive(), default=30, help="longest answer in tokens (default: %(default)s)")
    p.add_argument("--particles", choices=("strip", "keep"), default="strip",
                   help="cut a Korean particle merged into the answer's last piece (default: %(default)s)")
    p.add_argument("--epoch", type=positive(), default=3, help="passes over the training windows (default: %(default)s)")
    p.add_argument("--batch", type=positive(), default=32, help="windows per step and process (default: %(default)s)")
    p.add_argument("--lr", type=positive(float), default=3e-4, help="peak learning rate (default: %(default)s)")
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of the steps spent warming up (default: %(default)s)")
    p.add_argument("--weight_decay", type=non_negative, default=0.01, help="AdamW decoupled weight decay (default: %(default)s)")
    p.add_argument("--max_train", type=int, default=0, help="use only the first N training questions, 0 = all (default: %(default)s)")
    p.add_argument("--save_every", type=positive(), default=1000,
                   help="steps between resumable states; one is also written at each epoch end (default: %(default)s)")
    p.add_argument("--keep", type=positive(), default=2, help="resumable states to keep (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from the newest resumable state of --save, if there is one")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="seed for init, batch order and dropout (default: %(default)s)")
    p.add_argument("--predict", metavar="TEXT_OR_JSON",
                   help="answer with the model in --save: a context (with --question) or a SQuAD-format JSON file")
    p.add_argument("--question", help="the question for --predict CONTEXT")
    args = p.parse_args(argv)
    if not 0 <= args.warmup < 1:
        raise UserError(f"--warmup {args.warmup}: must be a fraction in [0, 1)")
    if args.doc_stride >= args.n_seq:
        raise UserError(f"--doc_stride {args.doc_stride}: must be smaller than --n_seq {args.n_seq}")
    if args.predict is not None and not args.predict.endswith(".json") and not args.question:
        raise UserError("--predict CONTEXT needs --question (or give a SQuAD-format .json file)")
    return args


def load_qa(args, device):
    """The vocab and the fine-tuned model in --save."""
    sp = load_vocab(args.vocab)
    ckpt = load_checkpoint(args.save, "qa")
    if ckpt.get("task") != "qa":
        raise UserError(f"{args.save}: not a qa.py checkpoint (pass the fine-tuned model with --save)")
    try:
        config = Config.from_dict(ckpt["config"], args.save)
    except ValueError as e:
        raise UserError(str(e))
    check_compatible(args.save, ckpt, config, sp.get_piece_size(), args.vocab)
    model = SpanQA(config).to(device)
    model.load_state_dict(ckpt["model"])
    return sp, model, ckpt


def predict(args):
    device = pick_device(args.device)
    sp, model, ckpt = load_qa(args, device)
    n_seq, stride = ckpt["args"]["n_seq"], ckpt["args"]["doc_stride"]  # the windows it was trained on
    if args.predict.endswith(".json"):
        questions = [q for _, qs in read_squad(args.predict) for q in qs]
    else:
        questions = [Question("1", args.question, args.predict, [("?", 0)], "")]
    feats = features(sp, questions, n_seq, stride, ckpt["args"]["max_query"], train=False)
    stripped, raw, probs = predict_answers(model, sp, questions, feats, device, ckpt["args"]["max_answer"])
    answers = stripped if ckpt["args"]["particles"] == "strip" else raw
    if not args.predict.endswith(".json"):
        return print(f"{answers['1']}\t{probs['1']:.3f}")
    json.dump(answers, sys.stdout, ensure_ascii=False, indent=1)
    print()
    em, f1 = score(answers, questions)
    print(f"{args.predict}: EM {em:.2f}, F1 {f1:.2f} over {len(questions):,} questions", file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    if args.predict is not None:
        return predict(args)
    rank, world, device, sp, config = start_run(args)
    vocab_size = sp.get_piece_size()
    if args.n_seq > config.n_enc_seq:
        raise UserError(f"--n_seq {args.n_seq}: longer than {args.config}'s n_enc_seq={config.n_enc_seq}")
    if config.n_seg_type < 2:
        raise UserError(f"{args.config}: n_seg_type is {config.n_seg_type}; question answering needs 2 segments")

    train_art, val_art, test_art = split(args.train, args.test, args.val_articles, args.test_articles, args.split_seed)
    train_q = [q for _, qs in train_art for q in qs]
    if args.max_train > 0:
        train_q = train_q[:args.max_train]
    val_q, test_q = [q for _, qs in val_art for q in qs], [q for _, qs in test_art for q in qs]
    train_f = features(sp, train_q, args.n_seq, args.doc_stride, args.max_query, train=True)
    val_f = features(sp, val_q, args.n_seq, args.doc_stride, args.max_query, train=False)
    test_f = features(sp, test_q, args.n_seq, args.doc_stride, args.max_query, train=False)
    lengths = np.array([len(f["tokens"]) for f in train_f])
    if len(train_f) < world:
        raise UserError(f"{args.train}: {len(train_f)} training windows cannot feed {world} processes")

    def epoch_batches(epoch):
        """This rank's share of each length-grouped global batch; the order depends only on (seed, epoch)."""
        rng = np.random.default_rng([args.seed, epoch])
        return list(shard(length_batches(lengths, args.batch * world, rng), rank, world))

    model = SpanQA(config).to(device)
    if args.pretrain:
        ckpt = load_checkpoint(args.pretrain, "pretrain")
        if "sbo.pos.weight" not in ckpt.get("model", {}):
            raise UserError(f"{args.pretrain}: not a pretrain.py checkpoint (no SBO head)")
        check_compatible(args.pretrain, ckpt, config, vocab_size, args.vocab)
        model.encoder.load_state_dict({k[len("encoder."):]: v for k, v in ckpt["model"].items() if k.startswith("encoder.")})
    steps_per_epoch = len(epoch_batches(1))
    optimizer = make_optimizer(model, args.lr, args.weight_decay)
    schedule = make_schedule(optimizer, steps_per_epoch * args.epoch, args.warmup)
    seed_all(args.seed + rank)  # different dropout masks on each rank
    state = resume_training_state(args, rank, model, optimizer, schedule, config, vocab_size)
    step, best = (state["step"], state["best"]) if state else (0, {"val_f1": -1.0})
    loss_sum, n_seen = torch.zeros((), device=device), 0
    if state and rank == 0:
        loss_sum, n_seen = state["loss_sum"].to(device), state["n_seen"]
    split_info = {"train": [t for t, _ in train_art], "val": [t for t, _ in val_art], "test": [t for t, _ in test_art]}
    meta = {"script": "qa.py", "args": vars(args), "config": config.to_dict(), "world_size": world,
            **vocab_fingerprint(args.vocab), "split": split_info, "questions": {"train": len(train_q), "val": len(val_q), "test": len(test_q)},
            "windows": {"train": len(train_f), "val": len(val_f), "test": len(test_f)}, **provenance()}
    log = MetricsLog(metrics_path(args.save), meta, resume_step=step if state else None) if rank == 0 else None
    net = DistributedDataParallel(model) if world > 1 else model
    if rank == 0:
        print(f"fine-tuning for QA on {world} × {device} ({'from ' + args.pretrain if args.pretrain else 'from scratch'}): "
              f"{len(train_q):,} / {len(val_q):,} / {len(test_q):,} questions in {len(train_art)} / {len(val_art)} / "
              f"{len(test_art)} articles (train / val / test), {len(train_f):,} training windows of up to {args.n_seq} "
              f"tokens" + (f", resuming from {state['path']}" if state else ", no state to resume" if args.resume else ""))

    first_bad = torch.full((), float("inf"), device=device)
    start_epoch, skip = divmod(step, steps_per_epoch)
    for epoch in range(start_epoch + 1, args.epoch + 1):
        batches, t0, n_tok = epoch_batches(epoch), time.time(), 0
        bar = tqdm(batches[skip:], initial=skip, total=len(batches), desc=f"epoch {epoch}", disable=rank != 0)
        skip = 0
        for i, (rows, global_rows) in enumerate(bar, start=bar.n):
            tokens, segments = (torch.from_numpy(x).to(device) for x in pad(train_f, rows))
            labels = torch.tensor([train_f[r]["label"] for r in rows], device=device)
            with autocast(device):
                start_logits, end_logits = net(tokens, segments)
            summed = (F.cross_entropy(start_logits, labels[:, 0], reduction="sum")
                      + F.cross_entropy(end_logits, labels[:, 1], reduction="sum")) / 2
            loss = summed * (world / len(global_rows))  # mean over the global batch after DDP's gradient average
            optimizer_step(loss, model, optimizer, schedule)
            step += 1
            loss_sum += summed.detach()
            first_bad = torch.where(torch.isfinite(loss.detach()), first_bad, first_bad.clamp(max=step))
            n_seen += len(rows)
            n_tok += int(lengths[rows].sum())
            if rank == 0 and (i % 20 == 0 or i + 1 == len(batches)):
                bar.set_postfix(loss=f"{loss_sum.item() / n_seen:.3f}", tok_s=f"{n_tok * world / (time.time() - t0):,.0f}")
            if step % args.save_every == 0 and i + 1 < len(batches):
                check_finite(first_bad, device, args.save)
                total, seen = all_reduce([loss_sum.item(), n_seen], device)
                save_training_state(args, rank, model, optimizer, schedule, config, vocab_size, step=step,
                                    best=best, loss_sum=torch.tensor(total, dtype=loss_sum.dtype), n_seen=int(seen))

        check_finite(first_bad, device, args.save)
        total, seen, tok = all_reduce([loss_sum.item(), n_seen, n_tok], device)
        train_loss, rate = total / seen, tok / (time.time() - t0)
        (val_em, val_f1), (val_em_other, val_f1_other), val_pred = evaluate(model, sp, val_q, val_f, device, rank, world,
                                                                            args.particles, args.max_answer)
        (test_em, test_f1), (test_em_other, test_f1_other), test_pred = evaluate(model, sp, test_q, test_f, device,
                                                                                 rank, world, args.particles, args.max_answer)
        other = "keep" if args.particles == "strip" else "strip"
        if log:
            log.write(epoch=epoch, step=step, loss=round(train_loss, 4), val_em=round(val_em, 2), val_f1=round(val_f1, 2),
                      test_em=round(test_em, 2), test_f1=round(test_f1, 2),
                      **{f"val_em_{other}": round(val_em_other, 2), f"val_f1_{other}": round(val_f1_other, 2),
                         f"test_em_{other}": round(test_em_other, 2), f"test_f1_{other}": round(test_f1_other, 2)},
                      lr=schedule.get_last_lr()[0], tokens_per_s=round(rate))
            print(f"epoch {epoch}: train loss {train_loss:.4f}, val EM {val_em:.2f} / F1 {val_f1:.2f}, "
                  f"test EM {test_em:.2f} / F1 {test_f1:.2f} (particles {other}: val F1 {val_f1_other:.2f})")
        if val_f1 > best["val_f1"]:
            best = {"val_f1": val_f1, "val_em": val_em, "epoch": epoch, "test_f1": test_f1, "test_em": test_em}
            check_weights(model, args.save, step)
            if rank == 0:
                save_checkpoint(args.save, model=model.state_dict(), config=config.to_dict(), vocab_size=vocab_size,
                                **vocab_fingerprint(args.vocab),
                                task="qa", **best, args=vars(args), provenance=provenance())
                for name, pred in (("val", val_pred), ("test", test_pred)):
                    with atomic_open(f"{save_root(args.save)}.{name}_predictions.json") as f:
                        json.dump(pred, f, ensure_ascii=False, indent=0)
        loss_sum.zero_()
        n_seen = 0
        save_training_state(args, rank, model, optimizer, schedule, config, vocab_size, step=step, best=best,
                            loss_sum=loss_sum.cpu(), n_seen=0)
    if rank == 0:
        print(f"best epoch {best['epoch']} (val F1 {best['val_f1']:.2f}): test EM {best['test_em']:.2f}, "
              f"F1 {best['test_f1']:.2f}; saved {args.save}")
    finish_distributed()


if __name__ == "__main__":
    run_main(main)
