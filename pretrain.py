"""Pretrain SpanBERT with the masked-LM and span boundary objectives (loss = MLM + SBO, no NSP)
on the span-masked JSON lines written by data.py; --sbo_weight 0 trains MLM alone (the paper's ablation).

    python pretrain.py --config config_half.json --input data/kowiki_span.json --save runs/save_pretrain.pth
    torchrun --standalone --nproc_per_node=8 pretrain.py ...          # one process per GPU

Resumable states (model, optimizer, schedule, step, every RNG) are written every --save_every
steps and at each epoch end beside --save; --resume continues from the newest one, exactly.
--eval scores the checkpoint in --save on --input instead: is the model using the context yet?
"""
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
                    shard, start_run, total_steps)
from data import length_batches, SpanData
from model import Config, SpanBERT


def parse_args(argv=None):
    p = Parser(__doc__)
    p.add_argument("--config", default="config_tiny.json", help="model config (default: %(default)s)")
    p.add_argument("--vocab", default="data/kowiki.model", help="SentencePiece model from vocab.py (default: %(default)s)")
    p.add_argument("--input", default="data/kowiki_span.json", help="span-masked JSON lines from data.py (default: %(default)s)")
    p.add_argument("--save", default="runs/save_pretrain.pth",
                   help="final checkpoint; resumable states and the .jsonl metrics log go beside it (default: %(default)s)")
    p.add_argument("--epoch", type=positive(), default=1,
                   help="passes over the data; each pass replays the masks data.py wrote, so for fresh masks "
                        "write copies with data.py --dupe instead (default: %(default)s)")
    p.add_argument("--batch", type=positive(), default=128,
                   help="sequences per step and process; 128 short sequences is the CPU recipe (default: %(default)s)")
    p.add_argument("--group_by_length", action="store_true",
                   help="batch sequences of similar length together (as train.py does), so short sequences, such as "
                        "one review each, are not padded to the longest of a random batch")
    p.add_argument("--lr", type=positive(float), default=1e-3,
                   help="peak learning rate; 1e-3 suits config_tiny, take less for bigger models (default: %(default)s)")
    p.add_argument("--warmup", type=float, default=0.05, help="fraction of the steps spent warming up (default: %(default)s)")
    p.add_argument("--weight_decay", type=non_negative, default=0.01, help="AdamW decoupled weight decay (default: %(default)s)")
    p.add_argument("--sbo_weight", type=float, default=1.0,
                   help="loss = MLM + W × SBO; 0 trains MLM alone and never runs the SBO head (default: %(default)s)")
    p.add_argument("--max_steps", type=int, default=0, help="stop after this many steps, 0 = run all epochs (default: %(default)s)")
    p.add_argument("--log_every", type=positive(), default=20, help="steps between metrics-log lines (default: %(default)s)")
    p.add_argument("--save_every", type=positive(), default=1000, help="steps between resumable states (default: %(default)s)")
    p.add_argument("--keep", type=positive(), default=2, help="resumable states to keep (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from the newest resumable state of --save, if there is one")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="seed for init, data order and dropout (default: %(default)s)")
    p.add_argument("--eval", type=positive(), metavar="N", default=None,
                   help="instead of training, score the checkpoint in --save on the first N sequences of --input: "
                        "loss and accuracy by position in the span, beside the targets' unigram entropy")
    args = p.parse_args(argv)
    if not 0 <= args.warmup < 1:
        raise UserError(f"--warmup {args.warmup}: must be a fraction in [0, 1)")
    if args.max_steps < 0:
        raise UserError(f"--max_steps {args.max_steps}: must be 0 or positive")
    if not 0 <= args.sbo_weight < float("inf"):
        raise UserError(f"--sbo_weight {args.sbo_weight}: must be a finite number >= 0")
    return args


def epoch_batches(lengths, batch, seed, epoch, group=False):
    """The global batches of one epoch: random, or grouped by length within pools of 8 batches.
    The order depends only on (seed, epoch), so every rank and every resumed run sees the same one."""
    rng = np.random.default_rng([seed, epoch])
    if group:
        return length_batches(lengths, batch, rng)
    order = rng.permutation(len(lengths))
    return [order[i:i + batch] for i in range(0, len(order), batch)]


def padding_share(lengths, batches):
    """Share of the padded (batch × longest) tokens that are [PAD]."""
    padded = sum(len(b) * int(lengths[b].max()) for b in batches)
    return 1 - int(lengths.sum()) / padded


@torch.no_grad()
def evaluate(args):
    """Print MLM and SBO loss and accuracy by position in the span, beside the loss of a model
    that ignores the context: the unigram distribution of all targets in --input. The first
    position, next to a visible token, is where local context should help most."""
    device = pick_device(args.device)
    vocab_size = load_vocab(args.vocab).get_piece_size()
    ckpt = load_checkpoint(args.save, "pretrain")
    if "sbo.pos.weight" not in ckpt.get("model", {}):
        raise UserError(f"{args.save}: not a pretrain.py checkpoint (no SBO head)")
    try:
        config = Config.from_dict(ckpt["config"], args.save)
    except ValueError as e:
        raise UserError(str(e))
    check_compatible(args.save, ckpt, config, vocab_size, args.vocab)
    data = SpanData(args.input, max_len=config.n_enc_seq, vocab=args.vocab)
    if data.max_token >= vocab_size:
        raise UserError(f"{args.input}: token id {data.max_token} is outside the vocab of {args.vocab}")
    model = SpanBERT(config).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    sbo_trained = ckpt.get("args", {}).get("sbo_weight", 1.0) > 0  # an MLM-only encoder's SBO head is random
    unigram = np.bincount(data.targets["mask_label"], minlength=vocab_size) / len(data.targets["mask_label"])
    rows = np.arange(min(args.eval, len(data)))
    cols = []  # per target: position in span, unigram loss, MLM loss, MLM correct, SBO loss, SBO correct
    for b in np.array_split(rows, max(1, len(rows) // 64)):
        batch = {k: torch.from_numpy(v).to(device) for k, v in data.batch(b).items()}
        label = batch.pop("mask_label")
        with autocast(device):
            logits_mlm, logits_sbo = (x.float() for x in model.logits(**batch))
        cols.append(torch.stack([
            batch["span_pos"].float(), torch.from_numpy(-np.log(unigram[label.cpu().numpy()])).float().to(device),
            F.cross_entropy(logits_mlm, label, reduction="none"), (logits_mlm.argmax(-1) == label).float(),
            F.cross_entropy(logits_sbo, label, reduction="none"), (logits_sbo.argmax(-1) == label).float()]).cpu())
    pos, uni, mlm, mlm_acc, sbo, sbo_acc = torch.cat(cols, 1)
    print(f"{args.save} on the first {len(rows):,} sequences of {args.input} ({len(pos):,} targets); "
          f"unigram = loss without context, from the frequencies of all {len(data.targets['mask_label']):,} targets")
    print("position in span   targets   unigram   MLM loss   MLM acc   SBO loss   SBO acc")
    for name, sel in [(str(i + 1), pos == i) for i in range(4)] + [("5+", pos >= 4), ("all", pos >= 0)]:
        if sel.any():
            sbo_cols = f"{sbo[sel].mean():8.3f}   {sbo_acc[sel].mean():7.3f}" if sbo_trained else f"{'-':>8}   {'-':>7}"
            print(f"{name:>16}   {int(sel.sum()):>7,}   {uni[sel].mean():7.3f}   {mlm[sel].mean():8.3f}   "
                  f"{mlm_acc[sel].mean():7.3f}   {sbo_cols}")
    if not sbo_trained:
        print(f"(no SBO columns: {args.save} was pretrained with --sbo_weight 0)")


def main(argv=None):
    args = parse_args(argv)
    if args.eval is not None:
        return evaluate(args)
    rank, world, device, sp, config = start_run(args)
    vocab_size = sp.get_piece_size()
    data = SpanData(args.input, max_len=config.n_enc_seq, vocab=args.vocab)
    if len(data) < world:
        raise UserError(f"{args.input}: {len(data)} sequences cannot feed {world} processes")
    if data.max_token >= vocab_size:
        raise UserError(f"{args.input}: token id {data.max_token} is outside the vocab of {args.vocab} "
                        f"({vocab_size} pieces): was the data made with another vocab?")

    model = SpanBERT(config).to(device)
    use_sbo = args.sbo_weight > 0
    if not use_sbo:
        model.freeze_sbo()
    lengths = np.diff(data.offsets)
    first = epoch_batches(lengths, args.batch * world, args.seed, 1, args.group_by_length)
    steps_per_epoch = len(list(shard(first, rank, world)))
    n_steps = total_steps(steps_per_epoch, args.epoch, args.max_steps)
    optimizer = make_optimizer(model, args.lr, args.weight_decay)
    schedule = make_schedule(optimizer, n_steps, args.warmup)
    seed_all(args.seed + rank)  # different dropout masks on each rank
    state = resume_training_state(args, rank, model, optimizer, schedule, config, vocab_size)
    step = state["step"] if state else 0
    meta = {"script": "pretrain.py", "args": vars(args), "config": config.to_dict(), "world_size": world,
            **vocab_fingerprint(args.vocab), **provenance()}
    log = MetricsLog(metrics_path(args.save), meta, resume_step=step if state else None) if rank == 0 else None
    net = DistributedDataParallel(model) if world > 1 else model
    if rank == 0:
        print(f"pretraining {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters on {world} × {device}: "
              f"{len(data):,} sequences, {n_steps:,} steps of {args.batch * world}"
              + (f", resuming from {state['path']}" if state else ", no state to resume" if args.resume else ""))
        print("objectives: " + (f"MLM + {args.sbo_weight:g} × SBO" if use_sbo else "MLM only (--sbo_weight 0: no SBO head)"))
        print(f"padding: {padding_share(lengths, first):.1%} of the batched tokens"
              + (" (batches grouped by length)" if args.group_by_length else ""))

    loss_sum = torch.zeros(2, device=device)  # MLM and SBO sums since the last log line
    n_tgt, n_tok, mlm, sbo, t_log = 0, 0, float("nan"), float("nan"), time.time()
    first_bad = torch.full((), float("inf"), device=device)  # first step with a non-finite loss
    model.train()
    start_epoch, skip = divmod(step, steps_per_epoch)
    for epoch in range(start_epoch + 1, args.epoch + 1):
        batches = list(shard(epoch_batches(lengths, args.batch * world, args.seed, epoch, args.group_by_length),
                             rank, world))
        bar = tqdm(batches[skip:], initial=skip, total=len(batches), desc=f"epoch {epoch}", disable=rank != 0)
        skip = 0
        for i, (rows, global_rows) in enumerate(bar, start=bar.n):
            if step == n_steps:
                break
            batch = {k: torch.from_numpy(v).to(device, non_blocking=True) for k, v in data.batch(rows).items()}
            n_global = int((data.tgt_offsets[global_rows + 1] - data.tgt_offsets[global_rows]).sum())
            with autocast(device):
                sum_mlm, sum_sbo = net(**batch, sbo=use_sbo)
            # DDP averages gradients over ranks, so scaling by world / n_global gives the mean over
            # all targets of the global batch: N ranks × batch B step exactly like 1 × N·B
            # (data.py --allow_unmasked can leave a batch without targets: its loss is then 0, not 0/0)
            loss = (sum_mlm + args.sbo_weight * sum_sbo) * (world / max(n_global, 1))
            optimizer_step(loss, model, optimizer, schedule)
            step += 1
            loss_sum += torch.stack([sum_mlm.detach(), sum_sbo.detach()])
            first_bad = torch.where(torch.isfinite(loss.detach()), first_bad, first_bad.clamp(max=step))
            n_tgt += len(batch["mask_idx"])
            n_tok += int((batch["tokens"] != config.i_pad).sum())
            due_save = step % args.save_every == 0 or step == n_steps or i + 1 == len(batches)
            if step % args.log_every == 0 or due_save:
                # one sync per log line, not per step; a save always comes right after a check
                check_finite(first_bad, device, args.save)
                mlm, sbo, tgt, tok = all_reduce([*loss_sum.tolist(), n_tgt, n_tok], device)
                mlm, sbo = (mlm / tgt, sbo / tgt) if tgt else (float("nan"), float("nan"))  # no span in the window
                rate = tok / (time.time() - t_log)
                if log:  # loss_sbo only where the SBO head ran
                    log.write(step=step, epoch=epoch, loss_mlm=round(mlm, 4),
                              **({"loss_sbo": round(sbo, 4)} if use_sbo else {}),
                              lr=schedule.get_last_lr()[0], tokens_per_s=round(rate))
                bar.set_postfix(mlm=f"{mlm:.3f}", **({"sbo": f"{sbo:.3f}"} if use_sbo else {}), tok_s=f"{rate:,.0f}")
                loss_sum.zero_()
                n_tgt, n_tok, t_log = 0, 0, time.time()
            if due_save:  # right after a log line, so nothing accumulated is lost
                save_training_state(args, rank, model, optimizer, schedule, config, vocab_size, step=step)
        if step == n_steps:
            break
    check_weights(model, args.save, step)
    if rank == 0:
        save_checkpoint(args.save, model=model.state_dict(), config=config.to_dict(), vocab_size=vocab_size,
                        **vocab_fingerprint(args.vocab),
                        step=step, args=vars(args), provenance=provenance())
        print(f"saved {args.save} after {step} steps: loss_mlm {mlm:.3f}"
              + (f", loss_sbo {sbo:.3f}" if use_sbo else "") + f"; metrics in {metrics_path(args.save)}")
    finish_distributed()


if __name__ == "__main__":
    run_main(main)
