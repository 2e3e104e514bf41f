"""Pretrain SpanBERT with the masked-LM and span boundary objectives (loss = MLM + SBO, no NSP)
on the span-masked JSON lines written by data.py.

    python pretrain.py --config config_half.json --input data/kowiki_span.json --save runs/save_pretrain.pth
"""
import argparse
import math
import time

import numpy as np
import torch
from tqdm import tqdm

from common import (MetricsLog, UserError, autocast, load_vocab, make_optimizer, make_schedule, metrics_path,
                    pick_device, positive, run_main, save_checkpoint, seed_all, total_steps)
from data import SpanData
from model import Config, SpanBERT


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config_half.json", help="model config (default: %(default)s)")
    p.add_argument("--vocab", default="data/kowiki.model", help="SentencePiece model from vocab.py (default: %(default)s)")
    p.add_argument("--input", default="data/kowiki_span.json", help="span-masked JSON lines from data.py (default: %(default)s)")
    p.add_argument("--save", default="runs/save_pretrain.pth",
                   help="checkpoint to write; the metrics log goes beside it as .jsonl (default: %(default)s)")
    p.add_argument("--epoch", type=positive(), default=3, help="passes over the data (default: %(default)s)")
    p.add_argument("--batch", type=positive(), default=28, help="sequences per step (default: %(default)s)")
    p.add_argument("--lr", type=positive(float), default=1e-4, help="peak learning rate (default: %(default)s)")
    p.add_argument("--warmup", type=float, default=0.05, help="fraction of the steps spent warming up (default: %(default)s)")
    p.add_argument("--weight_decay", type=float, default=0.01, help="AdamW decoupled weight decay (default: %(default)s)")
    p.add_argument("--max_steps", type=int, default=0, help="stop after this many steps, 0 = run all epochs (default: %(default)s)")
    p.add_argument("--log_every", type=positive(), default=20, help="steps between metrics-log lines (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="seed for init and data order (default: %(default)s)")
    args = p.parse_args(argv)
    if not 0 <= args.warmup < 1:
        raise UserError(f"--warmup {args.warmup}: must be a fraction in [0, 1)")
    if args.max_steps < 0:
        raise UserError(f"--max_steps {args.max_steps}: must be 0 or positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    device = pick_device(args.device)
    seed_all(args.seed)
    vocab_size = load_vocab(args.vocab).get_piece_size()
    try:
        config = Config.load(args.config, n_enc_vocab=vocab_size)
    except ValueError as e:
        raise UserError(str(e))
    data = SpanData(args.input, max_len=config.n_enc_seq)
    if data.max_token >= vocab_size:
        raise UserError(f"{args.input}: token id {data.max_token} is outside the vocab of {args.vocab} "
                        f"({vocab_size} pieces): was the data made with another vocab?")

    model = SpanBERT(config).to(device)
    steps_per_epoch = math.ceil(len(data) / args.batch)
    n_steps = total_steps(steps_per_epoch, args.epoch, args.max_steps)
    optimizer = make_optimizer(model, args.lr, args.weight_decay)
    schedule = make_schedule(optimizer, n_steps, args.warmup)
    log = MetricsLog(metrics_path(args.save))
    rng = np.random.default_rng(args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"pretraining {n_params / 1e6:.1f}M parameters on {device}: {len(data):,} sequences, "
          f"{n_steps:,} steps of {args.batch}")

    def save(step, epoch):
        save_checkpoint(args.save, model=model.state_dict(), config=config.to_dict(), vocab_size=vocab_size,
                        step=step, epoch=epoch, args=vars(args))

    step, since, n_tokens, t_log = 0, 0, 0, time.time()
    losses = torch.zeros(2, device=device)  # summed since the last log line
    model.train()
    for epoch in range(1, args.epoch + 1):
        order = rng.permutation(len(data))
        bar = tqdm(range(0, len(data), args.batch), desc=f"epoch {epoch}", total=steps_per_epoch)
        for i in bar:
            if step == n_steps:
                break
            batch = {k: v.to(device, non_blocking=True) for k, v in data.batch(order[i:i + args.batch]).items()}
            with autocast(device):
                loss_mlm, loss_sbo = model(**batch)
            optimizer.zero_grad(set_to_none=True)
            (loss_mlm + loss_sbo).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            since += 1
            losses += torch.stack([loss_mlm.detach(), loss_sbo.detach()])
            n_tokens += int((batch["tokens"] != config.i_pad).sum())
            if step % args.log_every == 0 or step == n_steps or i + args.batch >= len(data):
                mlm, sbo = (losses / since).tolist()  # syncs with the device once per log line, not per step
                if not (math.isfinite(mlm) and math.isfinite(sbo)):
                    raise UserError(f"loss became {mlm + sbo} at or before step {step}; stopping "
                                    f"({args.save} holds the last good checkpoint, if any)")
                rate = n_tokens / (time.time() - t_log)
                log.write(step=step, epoch=epoch, loss_mlm=round(mlm, 4), loss_sbo=round(sbo, 4),
                          lr=schedule.get_last_lr()[0], tokens_per_s=round(rate))
                bar.set_postfix(mlm=f"{mlm:.3f}", sbo=f"{sbo:.3f}", tok_s=f"{rate:,.0f}")
                losses.zero_()
                since, n_tokens, t_log = 0, 0, time.time()
        save(step, epoch)
        if step == n_steps:
            break
    print(f"saved {args.save} after {step} steps (epoch {epoch}): loss_mlm {mlm:.3f}, loss_sbo {sbo:.3f}; "
          f"metrics in {metrics_path(args.save)}")


if __name__ == "__main__":
    run_main(main)
