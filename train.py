"""Fine-tune SpanBERT on NSMC (Naver movie-review sentiment) and predict with the result.

    python train.py --config config_half.json --pretrain runs/save_pretrain.pth --pooling max
    python train.py --predict "이 영화 정말 재밌다"        # or lines on stdin: --predict < reviews.txt

Without --pretrain the same model trains from scratch (the original's "pre:0" row). A seeded
split of the training file (--val_ratio) picks the best epoch; test accuracy is logged every epoch.
"""
import argparse
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from common import (MetricsLog, UserError, autocast, check_compatible, load_checkpoint, load_vocab,
                    make_optimizer, make_schedule, metrics_path, pick_device, positive, run_main,
                    save_checkpoint, seed_all)
from data import encode_reviews, length_batches, pad_batch, read_nsmc
from model import Classifier, Config


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config_half.json", help="model config (default: %(default)s)")
    p.add_argument("--vocab", default="data/kowiki.model", help="SentencePiece model from vocab.py (default: %(default)s)")
    p.add_argument("--train", default="data/ratings_train.txt", help="NSMC training file (default: %(default)s)")
    p.add_argument("--test", default="data/ratings_test.txt", help="NSMC test file (default: %(default)s)")
    p.add_argument("--save", default="runs/save_best.pth",
                   help="best-on-validation checkpoint; the metrics log goes beside it as .jsonl (default: %(default)s)")
    p.add_argument("--pretrain", default=None, help="checkpoint from pretrain.py; omit to train from scratch")
    p.add_argument("--pooling", choices=("cls", "mean", "max"), default="max",
                   help="sentence vector: [CLS] state, or mean/max over real tokens (default: %(default)s)")
    p.add_argument("--epoch", type=positive(), default=10, help="passes over the training split (default: %(default)s)")
    p.add_argument("--batch", type=positive(), default=128, help="reviews per step (default: %(default)s)")
    p.add_argument("--lr", type=positive(float), default=5e-5, help="peak learning rate (default: %(default)s)")
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of the steps spent warming up (default: %(default)s)")
    p.add_argument("--weight_decay", type=float, default=0.01, help="AdamW decoupled weight decay (default: %(default)s)")
    p.add_argument("--val_ratio", type=float, default=0.05,
                   help="share of the training file held out to choose the best epoch (default: %(default)s)")
    p.add_argument("--n_seq", type=positive(), default=128, help="longest review in tokens incl. [CLS] and [SEP] (default: %(default)s)")
    p.add_argument("--max_train", type=int, default=0, help="use only the first N training reviews, 0 = all (default: %(default)s)")
    p.add_argument("--max_test", type=int, default=0, help="use only the first N test reviews, 0 = all (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="seed for init, split and batch order (default: %(default)s)")
    p.add_argument("--predict", nargs="?", const="-", metavar="TEXT",
                   help="classify TEXT (or each line of stdin when TEXT is omitted) with the model in --save")
    args = p.parse_args(argv)
    if not 0 < args.val_ratio < 1:
        raise UserError(f"--val_ratio {args.val_ratio}: must be between 0 and 1")
    if not 0 <= args.warmup < 1:
        raise UserError(f"--warmup {args.warmup}: must be a fraction in [0, 1)")
    if args.n_seq < 3:
        raise UserError(f"--n_seq {args.n_seq}: must leave room for [CLS], [SEP] and one token")
    return args


@torch.no_grad()
def evaluate(model, ids, labels, device, batch=256):
    """Accuracy over reviews batched by length (little padding)."""
    model.eval()
    correct = 0
    for b in length_batches([len(x) for x in ids], batch):
        with autocast(device):
            logits = model(pad_batch([ids[i] for i in b]).to(device))
        correct += int((logits.argmax(-1).cpu() == torch.from_numpy(labels[b])).sum())
    model.train()
    return correct / len(ids)


def predict(args):
    """Print label, its name and probability for each text, using the model saved in --save."""
    device = pick_device(args.device)
    sp = load_vocab(args.vocab)
    ckpt = load_checkpoint(args.save, "finetune")
    if "pooling" not in ckpt:
        raise UserError(f"{args.save}: not a train.py checkpoint (pass the fine-tuned model with --save)")
    try:
        config = Config.from_dict(ckpt["config"], args.save)
    except ValueError as e:
        raise UserError(str(e))
    if ckpt.get("vocab_size") != sp.get_piece_size():
        raise UserError(f"{args.save}: vocab size {ckpt.get('vocab_size')} differs from {args.vocab}'s {sp.get_piece_size()}")
    model = Classifier(config, ckpt["pooling"]).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    texts = [args.predict] if args.predict != "-" else [line.rstrip("\n") for line in sys.stdin]
    names = ("negative", "positive")
    for start in range(0, len(texts), 256):
        chunk = texts[start:start + 256]
        with torch.no_grad(), autocast(device):
            probs = F.softmax(model(pad_batch(encode_reviews(sp, chunk, args.n_seq)).to(device)).float(), -1)
        for text, p in zip(chunk, probs.cpu()):
            label = int(p.argmax())
            print(f"{label}\t{names[label]}\t{float(p[label]):.3f}\t{text}")


def main(argv=None):
    args = parse_args(argv)
    if args.predict is not None:
        return predict(args)
    device = pick_device(args.device)
    seed_all(args.seed)
    sp = load_vocab(args.vocab)
    vocab_size = sp.get_piece_size()
    try:
        config = Config.load(args.config, n_enc_vocab=vocab_size)
    except ValueError as e:
        raise UserError(str(e))
    if args.n_seq > config.n_enc_seq:
        raise UserError(f"--n_seq {args.n_seq}: longer than {args.config}'s n_enc_seq={config.n_enc_seq}")

    docs, labels = read_nsmc(args.train)
    test_docs, test_labels = read_nsmc(args.test)
    if args.max_train > 0:
        docs, labels = docs[:args.max_train], labels[:args.max_train]
    if args.max_test > 0:
        test_docs, test_labels = test_docs[:args.max_test], test_labels[:args.max_test]
    ids, test_ids = encode_reviews(sp, docs, args.n_seq), encode_reviews(sp, test_docs, args.n_seq)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(ids))
    n_val = max(1, int(round(len(ids) * args.val_ratio)))
    val, train = perm[:n_val], np.sort(perm[n_val:])
    val_ids, val_labels = [ids[i] for i in val], labels[val]
    ids, labels = [ids[i] for i in train], labels[train]

    model = Classifier(config, args.pooling).to(device)
    if args.pretrain:
        ckpt = load_checkpoint(args.pretrain, "pretrain")
        if "model" not in ckpt:
            raise UserError(f"{args.pretrain}: not a pretrain.py checkpoint (no model weights)")
        check_compatible(args.pretrain, ckpt, config, vocab_size)
        encoder = {k[len("encoder."):]: v for k, v in ckpt["model"].items() if k.startswith("encoder.")}
        model.encoder.load_state_dict(encoder)
    n_steps = math.ceil(len(ids) / args.batch) * args.epoch
    optimizer = make_optimizer(model, args.lr, args.weight_decay)
    schedule = make_schedule(optimizer, n_steps, args.warmup)
    log = MetricsLog(metrics_path(args.save))
    print(f"fine-tuning on {device} ({'from ' + args.pretrain if args.pretrain else 'from scratch'}, "
          f"{args.pooling} pooling): {len(ids):,} train / {len(val_ids):,} val / {len(test_ids):,} test reviews")

    lengths = [len(x) for x in ids]
    best, step = (-1.0, 0, 0.0), 0
    for epoch in range(1, args.epoch + 1):
        t0, total_loss, n_tokens = time.time(), 0.0, 0
        bar = tqdm(length_batches(lengths, args.batch, rng), desc=f"epoch {epoch}")
        for b in bar:
            x, y = pad_batch([ids[i] for i in b]).to(device), torch.from_numpy(labels[b]).to(device)
            with autocast(device):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            value = loss.item()
            total_loss += value * len(b)
            n_tokens += sum(lengths[i] for i in b)
            bar.set_postfix(loss=f"{value:.3f}", tok_s=f"{n_tokens / (time.time() - t0):,.0f}")
        if not math.isfinite(total_loss):
            raise UserError(f"loss became {total_loss} in epoch {epoch} (step {step}); stopping")
        train_loss = total_loss / len(ids)
        val_acc = evaluate(model, val_ids, val_labels, device)
        test_acc = evaluate(model, test_ids, test_labels, device)
        log.write(epoch=epoch, step=step, loss=round(train_loss, 4), val_acc=round(val_acc, 4),
                  test_acc=round(test_acc, 4), lr=schedule.get_last_lr()[0],
                  tokens_per_s=round(n_tokens / (time.time() - t0)))
        print(f"epoch {epoch}: train loss {train_loss:.4f}, val acc {val_acc:.4f}, test acc {test_acc:.4f}")
        if val_acc > best[0]:
            best = (val_acc, epoch, test_acc)
            save_checkpoint(args.save, model=model.state_dict(), config=config.to_dict(), vocab_size=vocab_size,
                            pooling=args.pooling, epoch=epoch, val_acc=val_acc, test_acc=test_acc, args=vars(args))
    print(f"best epoch {best[1]} (val acc {best[0]:.4f}): NSMC test accuracy {best[2]:.4f}; saved {args.save}")


if __name__ == "__main__":
    run_main(main)
