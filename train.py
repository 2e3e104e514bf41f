"""Fine-tune SpanBERT on NSMC (Naver movie-review sentiment) and predict with the result.

    python train.py --config config_half.json --pretrain runs/save_pretrain.pth --pooling max
    python train.py --predict "이 영화 정말 재밌다"        # or lines on stdin: --predict < reviews.txt

Without --pretrain the same model trains from scratch (the original's "pre:0" row); --freeze trains
only the output layer on the fixed encoder (a linear probe of what pretraining learned). A seeded
split of the training file (--val_ratio) picks the best epoch; test accuracy is logged every epoch.
Runs under torchrun like pretrain.py, and --resume continues exactly from the newest state.
"""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from cli import load_vocab, non_negative, Parser, positive, run_main, UserError, vocab_fingerprint
from common import (all_reduce, autocast, check_compatible, check_finite, check_weights, finish_distributed,
                    load_checkpoint, make_optimizer, make_schedule, metrics_path, MetricsLog, optimizer_step,
                    pick_device, provenance, resume_training_state, save_checkpoint, save_training_state, seed_all,
                    shard, start_run)
from data import encode_reviews, length_batches, pad_batch, read_nsmc
from model import Classifier, Config


def parse_args(argv=None):
    p = Parser(__doc__)
    p.add_argument("--config", default="config_tiny.json", help="model config (default: %(default)s)")
    p.add_argument("--vocab", default="data/kowiki.model", help="SentencePiece model from vocab.py (default: %(default)s)")
    p.add_argument("--train", default="data/ratings_train.txt", help="NSMC training file (default: %(default)s)")
    p.add_argument("--test", default="data/ratings_test.txt", help="NSMC test file (default: %(default)s)")
    p.add_argument("--save", default="runs/save_best.pth",
                   help="best-on-validation checkpoint; the metrics log goes beside it as .jsonl (default: %(default)s)")
    p.add_argument("--pretrain", default=None, help="checkpoint from pretrain.py; omit to train from scratch")
    p.add_argument("--pooling", choices=("cls", "mean", "max"), default="max",
                   help="sentence vector: [CLS] state, or mean/max over real tokens (default: %(default)s)")
    p.add_argument("--freeze", action="store_true",
                   help="linear probe: keep the encoder fixed (no dropout in it) and train only the output layer")
    p.add_argument("--epoch", type=positive(), default=3,
                   help="passes over the training split; the best epoch on validation is kept (default: %(default)s)")
    p.add_argument("--batch", type=positive(), default=64, help="reviews per step and process (default: %(default)s)")
    p.add_argument("--lr", type=positive(float), default=2e-4,
                   help="peak learning rate: the README's recipe for a pretrained config_tiny encoder; from scratch "
                        "validation picked 1e-4 (default: %(default)s)")
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of the steps spent warming up (default: %(default)s)")
    p.add_argument("--weight_decay", type=non_negative, default=0.01, help="AdamW decoupled weight decay (default: %(default)s)")
    p.add_argument("--val_ratio", type=float, default=0.05,
                   help="share of the training file held out to choose the best epoch (default: %(default)s)")
    p.add_argument("--n_seq", type=positive(), default=128, help="longest review in tokens incl. [CLS] and [SEP] (default: %(default)s)")
    p.add_argument("--max_train", type=int, default=0, help="use only the first N training reviews, 0 = all (default: %(default)s)")
    p.add_argument("--max_test", type=int, default=0, help="use only the first N test reviews, 0 = all (default: %(default)s)")
    p.add_argument("--save_every", type=positive(), default=1000,
                   help="steps between resumable states; one is also written at each epoch end (default: %(default)s)")
    p.add_argument("--keep", type=positive(), default=2, help="resumable states to keep (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from the newest resumable state of --save, if there is one")
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
def predict_probs(model, ids, device, batches=None, batch=256):
    """Class probabilities (len(ids), n_output) in input order; reviews are batched by length so
    little padding is computed. `batches` restricts the work to some of them (a rank's share)."""
    model.eval()
    probs = torch.zeros(len(ids), model.config.n_output)
    for b in batches if batches is not None else length_batches([len(x) for x in ids], batch):
        with autocast(device):
            logits = model(torch.from_numpy(pad_batch([ids[i] for i in b])).to(device))
        probs[b] = F.softmax(logits.float(), -1).cpu()
    model.train()
    return probs


def evaluate(model, ids, labels, device, rank=0, world=1, batch=256):
    """Accuracy; under torchrun each rank scores a share of the batches and the counts are summed."""
    mine = length_batches([len(x) for x in ids], batch)[rank::world]
    rows = np.concatenate(mine) if mine else np.zeros(0, dtype=np.int64)
    predicted = predict_probs(model, ids, device, mine).argmax(-1).numpy()
    return all_reduce([int((predicted[rows] == labels[rows]).sum())], device)[0] / len(ids)


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
    check_compatible(args.save, ckpt, config, sp.get_piece_size(), args.vocab)
    if args.n_seq > config.n_enc_seq:
        raise UserError(f"--n_seq {args.n_seq}: longer than {args.save}'s n_enc_seq={config.n_enc_seq}")
    model = Classifier(config, ckpt["pooling"]).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    texts = [args.predict] if args.predict != "-" else stdin_lines()
    names = ("negative", "positive")
    for text, p in zip(texts, predict_probs(model, encode_reviews(sp, texts, args.n_seq), device)):
        label = int(p.argmax())
        print(f"{label}\t{names[label]}\t{float(p[label]):.3f}\t{text}")


def stdin_lines():
    """The lines of stdin as text; bytes that are not UTF-8 are one clear line naming the line."""
    lines = []
    for i, raw in enumerate(sys.stdin.buffer, 1):
        try:
            lines.append(raw.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError as e:
            raise UserError(f"stdin:{i}: not UTF-8 text ({e.reason})")
    return lines


def main(argv=None):
    args = parse_args(argv)
    if args.predict is not None:
        return predict(args)
    rank, world, device, sp, config = start_run(args)
    vocab_size = sp.get_piece_size()
    if args.n_seq > config.n_enc_seq:
        raise UserError(f"--n_seq {args.n_seq}: longer than {args.config}'s n_enc_seq={config.n_enc_seq}")

    docs, labels = read_nsmc(args.train)
    test_docs, test_labels = read_nsmc(args.test)
    if args.max_train > 0:
        docs, labels = docs[:args.max_train], labels[:args.max_train]
    if args.max_test > 0:
        test_docs, test_labels = test_docs[:args.max_test], test_labels[:args.max_test]
    ids, test_ids = encode_reviews(sp, docs, args.n_seq), encode_reviews(sp, test_docs, args.n_seq)
    perm = np.random.default_rng(args.seed).permutation(len(ids))
    n_val = max(1, int(round(len(ids) * args.val_ratio)))
    val, train = perm[:n_val], np.sort(perm[n_val:])
    val_ids, val_labels = [ids[i] for i in val], labels[val]
    ids, labels = [ids[i] for i in train], labels[train]
    lengths = np.array([len(x) for x in ids])
    if len(ids) == 0:
        raise UserError(f"{args.train}: no review left to train on: the validation split (--val_ratio {args.val_ratio}) "
                        f"took all {n_val} of the {n_val} reviews read" + (" (--max_train)" if args.max_train else ""))
    if len(ids) < world:
        raise UserError(f"{args.train}: {len(ids)} training reviews cannot feed {world} processes")

    def epoch_batches(epoch):
        """This rank's share of each length-grouped global batch; the order depends only on (seed, epoch)."""
        rng = np.random.default_rng([args.seed, epoch])
        return list(shard(length_batches(lengths, args.batch * world, rng), rank, world))

    model = Classifier(config, args.pooling).to(device)
    if args.pretrain:
        ckpt = load_checkpoint(args.pretrain, "pretrain")
        if "model" not in ckpt:
            raise UserError(f"{args.pretrain}: not a pretrain.py checkpoint (no model weights)")
        check_compatible(args.pretrain, ckpt, config, vocab_size, args.vocab)
        model.encoder.load_state_dict({k[len("encoder."):]: v for k, v in ckpt["model"].items() if k.startswith("encoder.")})
    if args.freeze:
        model.freeze_encoder()
    steps_per_epoch = len(epoch_batches(1))
    optimizer = make_optimizer(model, args.lr, args.weight_decay)
    schedule = make_schedule(optimizer, steps_per_epoch * args.epoch, args.warmup)
    seed_all(args.seed + rank)  # different dropout masks on each rank
    state = resume_training_state(args, rank, model, optimizer, schedule, config, vocab_size)
    step, best = (state["step"], state["best"]) if state else (0, {"val_acc": -1.0})
    # a mid-epoch state holds the loss sums of all ranks, so only rank 0 takes them back
    loss_sum, n_seen = torch.zeros((), device=device), 0
    if state and rank == 0:
        loss_sum, n_seen = state["loss_sum"].to(device), state["n_seen"]
    meta = {"script": "train.py", "args": vars(args), "config": config.to_dict(), "world_size": world,
            **vocab_fingerprint(args.vocab), **provenance()}
    log = MetricsLog(metrics_path(args.save), meta, resume_step=step if state else None) if rank == 0 else None
    net = DistributedDataParallel(model) if world > 1 else model
    if rank == 0:
        print(f"{'probing' if args.freeze else 'fine-tuning'} on {world} × {device} "
              f"({'from ' + args.pretrain if args.pretrain else 'from scratch'}, {args.pooling} pooling): "
              f"{len(ids):,} train / {len(val_ids):,} val / {len(test_ids):,} test reviews"
              + (f", resuming from {state['path']}" if state else ", no state to resume" if args.resume else ""))

    first_bad = torch.full((), float("inf"), device=device)  # first step with a non-finite loss
    start_epoch, skip = divmod(step, steps_per_epoch)
    for epoch in range(start_epoch + 1, args.epoch + 1):
        batches, t0, n_tok = epoch_batches(epoch), time.time(), 0  # tokens/s: this process's part of the epoch
        bar = tqdm(batches[skip:], initial=skip, total=len(batches), desc=f"epoch {epoch}", disable=rank != 0)
        skip = 0
        for i, (rows, global_rows) in enumerate(bar, start=bar.n):
            x = torch.from_numpy(pad_batch([ids[r] for r in rows])).to(device)
            y = torch.from_numpy(labels[rows]).to(device)
            with autocast(device):
                logits = net(x)
            summed = F.cross_entropy(logits.float(), y, reduction="sum")
            loss = summed * (world / len(global_rows))  # mean over the global batch after DDP's gradient average
            optimizer_step(loss, model, optimizer, schedule)
            step += 1
            loss_sum += summed.detach()
            first_bad = torch.where(torch.isfinite(loss.detach()), first_bad, first_bad.clamp(max=step))
            n_seen += len(rows)
            n_tok += int(lengths[rows].sum())
            if rank == 0 and (i % 20 == 0 or i + 1 == len(batches)):
                bar.set_postfix(loss=f"{loss_sum.item() / n_seen:.3f}", tok_s=f"{n_tok * world / (time.time() - t0):,.0f}")
            if step % args.save_every == 0 and i + 1 < len(batches):  # mid-epoch; epoch ends save below
                check_finite(first_bad, device, args.save)
                total, seen = all_reduce([loss_sum.item(), n_seen], device)
                save_training_state(args, rank, model, optimizer, schedule, config, vocab_size, step=step,
                                    best=best, loss_sum=torch.tensor(total, dtype=loss_sum.dtype), n_seen=int(seen))

        check_finite(first_bad, device, args.save)
        total, seen, tok = all_reduce([loss_sum.item(), n_seen, n_tok], device)
        train_loss, rate = total / seen, tok / (time.time() - t0)
        val_acc = evaluate(model, val_ids, val_labels, device, rank, world)
        test_acc = evaluate(model, test_ids, test_labels, device, rank, world)
        if log:
            log.write(epoch=epoch, step=step, loss=round(train_loss, 4), val_acc=round(val_acc, 4),
                      test_acc=round(test_acc, 4), lr=schedule.get_last_lr()[0], tokens_per_s=round(rate))
            print(f"epoch {epoch}: train loss {train_loss:.4f}, val acc {val_acc:.4f}, test acc {test_acc:.4f}")
        if val_acc > best["val_acc"]:
            best = {"val_acc": val_acc, "epoch": epoch, "test_acc": test_acc}
            check_weights(model, args.save, step)
            if rank == 0:
                save_checkpoint(args.save, model=model.state_dict(), config=config.to_dict(), vocab_size=vocab_size,
                                **vocab_fingerprint(args.vocab),
                                pooling=args.pooling, **best, args=vars(args), provenance=provenance())
        loss_sum.zero_()
        n_seen = 0
        save_training_state(args, rank, model, optimizer, schedule, config, vocab_size, step=step, best=best,
                            loss_sum=loss_sum.cpu(), n_seen=0)
    if rank == 0:
        print(f"best epoch {best['epoch']} (val acc {best['val_acc']:.4f}): "
              f"NSMC test accuracy {best['test_acc']:.4f}; saved {args.save}")
    finish_distributed()


if __name__ == "__main__":
    run_main(main)
