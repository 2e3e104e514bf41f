"""Benchmarks: our SpanBERT against Hugging Face BERT, and our data paths against naive ones.

    python bench.py --vocab data/kowiki.model --train data/ratings_train.txt --test data/ratings_test.txt
    python bench.py --json bench.json      # also write every number as JSON
    python bench.py --smoke                # tiny dims, one repeat: checks that the benchmark runs

1. pretraining step (forward + backward + fused AdamW) in tokens/s: our MLM + SBO model against
   transformers.BertForMaskedLM with the same dimensions (SDPA attention), on the same random batches
   with 15% targets, alternating A/B after warm-up; peak memory of a config.json step at T=512;
2. one NSMC fine-tuning epoch: our length-grouped batches against random batches padded to their
   longest review, with the padding fraction and the test accuracy each reaches;
3. inference: reviews/s of train.py's batched classification (--predict, evaluation);
4. utilization: model FLOPs/token × tokens/s ÷ the peak of a large matmul measured in this run;
5. with --spans: pretraining steps on real span data, random batches against pretrain.py --group_by_length.
Ratios are the headline; absolute numbers mean most on a GPU. Results go to BENCHMARKS.md.
"""
import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from cli import load_vocab, Parser, positive, run_main, UserError
from common import autocast, make_optimizer, make_schedule, pick_device
from data import CLS, SEP, encode_reviews, length_batches, pad_batch, read_nsmc, SpanData
from model import Classifier, Config, SpanBERT
from pretrain import epoch_batches, padding_share
from train import predict_probs

CPU_CASES = [("config_tiny.json", 32, 128), ("config_half.json", 8, 128)]
GPU_CASES = [("config_half.json", 128, 128), ("config_half.json", 32, 512), ("config.json", 128, 128), ("config.json", 32, 512)]
SMOKE = dict(n_enc_vocab=8007, n_enc_seq=128, n_seg_type=2, n_layer=2, d_hidn=64, i_pad=0, d_ff=128, n_head=2,
             d_head=32, dropout=0.1, layer_norm_epsilon=1e-12, n_output=2, n_span_pos=32)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def load_config(name, smoke, vocab=8007):
    return Config(**{**SMOKE, "n_enc_vocab": vocab}) if smoke else Config.load(name, n_enc_vocab=vocab)


def hf_model(c):
    """transformers' BertForMaskedLM with our dimensions, SDPA attention, BERT init."""
    from transformers import BertConfig, BertForMaskedLM
    return BertForMaskedLM(BertConfig(
        vocab_size=c.n_enc_vocab, hidden_size=c.d_hidn, num_hidden_layers=c.n_layer, num_attention_heads=c.n_head,
        intermediate_size=c.d_ff, max_position_embeddings=c.n_enc_seq, type_vocab_size=c.n_seg_type,
        hidden_dropout_prob=c.dropout, attention_probs_dropout_prob=c.dropout, layer_norm_eps=c.layer_norm_epsilon,
        attn_implementation="sdpa"))


def random_batch(B, T, V, gen):
    """Full-length random sequences with 15% single-token targets, in both models' formats."""
    tokens = torch.randint(7, V, (B, T), generator=gen)
    tokens[:, 0], tokens[:, -1] = CLS, SEP
    pick = torch.rand(B, T, generator=gen) < 0.15
    pick[:, 0] = pick[:, -1] = False
    row, idx = pick.nonzero(as_tuple=True)
    ours = dict(tokens=tokens, row=row, mask_idx=idx, mask_label=tokens[row, idx], span_left=idx - 1,
                span_right=idx + 1, span_pos=torch.zeros_like(idx))
    labels = torch.full((B, T), -100)
    labels[pick] = tokens[pick]
    return ours, dict(input_ids=tokens, attention_mask=torch.ones_like(tokens), labels=labels)


def stepper(which, c, device):
    """A function batch → one training step of our model or HF's, with the same fused AdamW."""
    model = (SpanBERT(c) if which == "ours" else hf_model(c)).to(device).train()
    opt = make_optimizer(model, 1e-4, 0.01)

    def step(batch):
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast(device):
            if which == "ours":
                mlm, sbo = model(**batch)
                loss = (mlm + sbo) / len(batch["mask_idx"])
            else:
                loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return model, step


def train_flops_per_token(model, c, T, head_fraction):
    """6 × (weights used in matmuls) + 12·L·T·D for attention scores and sums (forward + backward).
    The output heads count on the fraction of tokens they run on: 0.15 for ours, which gathers the
    masked positions first, 1 for HF's, which projects every position onto the vocab."""
    ours = isinstance(model, SpanBERT)
    body = model.encoder.blocks if ours else model.bert.encoder
    head = [model.mlm.dense, model.sbo.fc1, model.sbo.fc2] if ours else [model.cls.predictions.transform.dense]
    n_body = sum(m.weight.numel() for m in body.modules() if isinstance(m, torch.nn.Linear))
    n_head = sum(m.weight.numel() for m in head) + (2 if ours else 1) * c.d_hidn * c.n_enc_vocab  # + tied decoders
    return 6 * n_body + 12 * c.n_layer * T * c.d_hidn + 6 * head_fraction * n_head


def peak_flops(device, smoke):
    """The best of a few large square matmuls: fp32 on CPU, bf16 on CUDA."""
    n = 512 if smoke else (2048 if device.type == "cpu" else 8192)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(5):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def bench_pretrain(device, args, peak):
    rows = []
    cases = [("smoke", 4, 32)] if args.smoke else (GPU_CASES if device.type == "cuda" else CPU_CASES)
    for name, B, T in cases:
        c = load_config(name, args.smoke)
        gen = torch.Generator().manual_seed(0)
        batches = [random_batch(B, T, c.n_enc_vocab, gen) for _ in range(args.repeats + args.warmup)]
        models = {w: stepper(w, c, device) for w in ("ours", "hf")}
        times = {"ours": [], "hf": []}
        for r, (ours_batch, hf_batch) in enumerate(batches):
            for which, batch in (("ours", ours_batch), ("hf", hf_batch)):  # alternate A/B on the same batch
                sync(device)
                t = time.perf_counter()
                models[which][1](batch)
                sync(device)
                if r >= args.warmup:
                    times[which].append(time.perf_counter() - t)
        row = {"config": name, "batch": B, "seq": T, "device": str(device)}
        for which in ("ours", "hf"):
            rate = B * T / statistics.median(times[which])
            fpt = train_flops_per_token(models[which][0], c, T, 0.15 if which == "ours" else 1.0)
            row.update({f"{which}_tokens_per_s": rate, f"{which}_flops_per_token": fpt, f"{which}_utilization": fpt * rate / peak})
        row["ratio"] = row["ours_tokens_per_s"] / row["hf_tokens_per_s"]
        rows.append(row)
        print(f"pretrain {name:17s} B={B:<3} T={T:<4} ours {row['ours_tokens_per_s']:9,.0f} tok/s  "
              f"HF {row['hf_tokens_per_s']:9,.0f} tok/s  ratio {row['ratio']:.2f}  "
              f"utilization ours {row['ours_utilization']:.3f} HF {row['hf_utilization']:.3f}")
        del models
    return rows


def memory_child(which, name, B, T, device_name, smoke):
    """Run in a fresh process: two training steps, then print the peak memory in bytes."""
    device = pick_device(device_name)
    c = load_config(name, smoke)
    _, step = stepper(which, c, device)
    for _ in range(2):
        step(random_batch(B, T, c.n_enc_vocab, torch.Generator().manual_seed(0))[0 if which == "ours" else 1])
    if device.type == "cuda":
        print(torch.cuda.max_memory_allocated())
    else:
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)  # Linux reports KiB


def bench_memory(device, args):
    """Peak memory of a config.json step at T=512, each model in its own process."""
    name, B, T = ("smoke", 4, 64) if args.smoke else ("config.json", 8 if device.type == "cpu" else 32, 512)
    out = {"config": name, "batch": B, "seq": T, "measure": "max_memory_allocated" if device.type == "cuda" else "peak RSS"}
    for which in ("ours", "hf"):
        r = subprocess.run([sys.executable, __file__, "--memory_child", which, name, str(B), str(T), str(device)]
                           + (["--smoke"] if args.smoke else []), capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(r.stderr)
        out[f"{which}_bytes"] = int(r.stdout.split()[-1])
    out["ratio"] = out["ours_bytes"] / out["hf_bytes"]
    print(f"memory   {name} B={B} T={T} ({out['measure']}): ours {out['ours_bytes'] / 2**20:,.0f} MiB, "
          f"HF {out['hf_bytes'] / 2**20:,.0f} MiB, ours/HF {out['ratio']:.2f}")
    return out


def bench_finetune(device, args):
    """One fine-tuning epoch on the same reviews, with our length-grouped batches and with naive
    random batches padded to their longest review; then test accuracy and inference speed."""
    sp = load_vocab(args.vocab)
    docs, labels = read_nsmc(args.train)
    test_docs, test_labels = read_nsmc(args.test)
    n, n_test = (200, 100) if args.smoke else (args.reviews, args.test_reviews)
    c = load_config(args.config, args.smoke, sp.get_piece_size())
    ids, test_ids = encode_reviews(sp, docs[:n], 128), encode_reviews(sp, test_docs[:n_test], 128)
    y, test_y = labels[:n], test_labels[:n_test]
    lengths = np.array([len(x) for x in ids])
    out = {"reviews": n, "test_reviews": n_test, "config": args.config if not args.smoke else "smoke"}
    for path in ("ours", "naive"):
        runs = []
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            if path == "ours":
                batches = length_batches(lengths, args.batch, rng)
            else:
                order = rng.permutation(n)
                batches = [order[i:i + args.batch] for i in range(0, n, args.batch)]
            torch.manual_seed(seed)
            model = Classifier(c, "max").to(device)
            opt = make_optimizer(model, 2e-4, 0.01)
            schedule = make_schedule(opt, len(batches), 0.1)  # train.py's warmup and decay
            sync(device)
            t = time.perf_counter()
            for b in batches:
                x, target = torch.from_numpy(pad_batch([ids[i] for i in b])).to(device), torch.from_numpy(y[b]).to(device)
                with autocast(device):
                    loss = F.cross_entropy(model(x).float(), target)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)
                schedule.step()
            sync(device)
            secs = time.perf_counter() - t
            acc = float((predict_probs(model, test_ids, device).argmax(-1).numpy() == test_y).mean())
            runs.append({"seconds": secs, "test_acc": acc, "padding": 1 - lengths.sum() / sum(len(b) * lengths[b].max() for b in batches)})
        secs = statistics.median(r["seconds"] for r in runs)
        accs = [r["test_acc"] for r in runs]
        out[path] = {"seconds": secs, "tokens_per_s": lengths.sum() / secs, "padding": runs[0]["padding"],
                     "test_acc": statistics.mean(accs), "test_acc_by_seed": accs}
        print(f"finetune {path:5s} {n:,} reviews: {secs:6.1f} s/epoch, {lengths.sum() / secs:9,.0f} real tok/s, "
              f"padding {out[path]['padding']:.1%}, test acc {statistics.mean(accs):.4f} over {len(accs)} seed(s) "
              f"{[round(a, 4) for a in accs]} ({n_test:,} reviews)")
    out["speedup"] = out["naive"]["seconds"] / out["ours"]["seconds"]
    print(f"finetune speedup (ours / naive): {out['speedup']:.2f}x")

    sync(device)
    t = time.perf_counter()
    predict_probs(model, encode_reviews(sp, test_docs[:n_test], 128), device)  # tokenization included
    sync(device)
    out["inference_reviews_per_s"] = n_test / (time.perf_counter() - t)
    print(f"inference {out['inference_reviews_per_s']:,.0f} reviews/s (tokenize + classify, batches of 256)")
    return out


def tree_rss(pid):
    """Resident memory of a process and all its descendants, in bytes (Linux /proc)."""
    children, total = {}, 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except OSError:
                pass
    stack = [pid]
    while stack:
        p = stack.pop()
        stack += children.get(p, [])
        try:
            total += int(open(f"/proc/{p}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def run_measured(cmd):
    """Run a command; return (wall seconds, peak RSS of its process tree, stdout)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.05)
    out = proc.stdout.read()
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed")
    return time.perf_counter() - t, peak, out


def bench_data(args):
    """Corpus preparation at scale: vocab.py time, data.py tokens/s and peak RSS (all processes)
    on the corpus and on a 10% slice, and the RAM and time pretrain.py's loader needs."""
    import re
    import tempfile
    out = {}
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        size = os.path.getsize(args.corpus)
        part = os.path.join(tmp, "slice.txt")
        with open(args.corpus, "rb") as f, open(part, "wb") as w:
            w.write(f.read(size // 10).rsplit(b"\n", 1)[0] + b"\n")
        secs, _, _ = run_measured([sys.executable, "vocab.py", "--input", args.corpus, "--prefix", os.path.join(tmp, "v")])
        out["vocab_seconds"] = secs
        print(f"vocab.py   {size / 1e6:.0f} MB: {secs:.1f} s")
        for name, path in (("full", args.corpus), ("slice", part)):
            span = os.path.join(tmp, f"{name}.json")
            secs, peak, log = run_measured([sys.executable, "data.py", "--input", path, "--vocab", os.path.join(tmp, "v.model"),
                                            "--output", span, "--dupe", "1"])
            tokens = int(re.search(r"([\d,]+) tokens,", log).group(1).replace(",", ""))
            inside = int(re.search(r"([\d,]+) tokens/s", log).group(1).replace(",", ""))  # data.py's own clock
            out[f"data_{name}"] = {"mb": os.path.getsize(path) / 1e6, "tokens": tokens, "seconds": secs,
                                   "tokens_per_s": tokens / secs, "tokens_per_s_in_process": inside, "peak_rss": peak}
            print(f"data.py    {os.path.getsize(path) / 1e6:.0f} MB: {tokens:,} tokens in {secs:.1f} s = "
                  f"{tokens / secs:,.0f} tokens/s with interpreter start, {inside:,.0f} from reading to the last "
                  f"line written; peak RSS {peak / 2**20:,.0f} MiB")
        span = os.path.join(tmp, "full.json")
        load = [sys.executable, "-c", "import sys, resource, time; import data; import torch; "
                "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; t = time.perf_counter(); "
                "d = data.SpanData(sys.argv[1]); d.batch(d.offsets[:1] * 0); "
                "print(len(d.tokens), base * 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "
                "time.perf_counter() - t)", span]
        for when in ("first", "cached"):
            _, _, log = run_measured(load)
            n, base, peak, secs = log.split()
            n, secs, per_token = int(n), float(secs), (int(peak) - int(base)) / int(n)
            out[f"load_{when}"] = {"seconds": secs, "bytes_per_token": per_token}
            print(f"SpanData   {when} load of {n:,} tokens: {secs:.2f} s, {per_token:.1f} bytes of RAM per token")
    return out


def bench_batching(device, args):
    """pretrain.py's step on the first batches of a span file, random (the default) against grouped
    by length (--group_by_length), one step of each in turn so that both see the same machine;
    real (non-[PAD]) tokens/s over all timed steps, since grouped steps vary in cost with their length."""
    data = SpanData(args.spans)
    lengths = np.diff(data.offsets)
    vocab = load_vocab(args.vocab).get_piece_size()
    if data.max_token >= vocab:
        raise UserError(f"{args.spans}: token id {data.max_token} is outside the vocab of {args.vocab}")
    c = load_config(args.config, args.smoke, vocab)
    B, n = (8, 2) if args.smoke else (args.span_batch, args.steps)
    paths = {}
    for group in (False, True):
        torch.manual_seed(0)
        model = SpanBERT(c).to(device)
        paths[group] = dict(model=model, opt=make_optimizer(model, 1e-4, 0.01), seconds=0.0, tokens=0,
                            batches=epoch_batches(lengths, B, 0, 1, group)[:args.warmup + n])
    for i in range(args.warmup + n):
        for p in paths.values():
            batch = {k: torch.from_numpy(v).to(device) for k, v in data.batch(p["batches"][i]).items()}
            sync(device)
            t = time.perf_counter()
            with autocast(device):
                sum_mlm, sum_sbo = p["model"](**batch)
            ((sum_mlm + sum_sbo) / max(len(batch["mask_idx"]), 1)).backward()
            torch.nn.utils.clip_grad_norm_(p["model"].parameters(), 1.0)
            p["opt"].step()
            p["opt"].zero_grad(set_to_none=True)
            sync(device)
            if i >= args.warmup:
                p["seconds"] += time.perf_counter() - t
                p["tokens"] += int(lengths[p["batches"][i]].sum())
    out = {"spans": args.spans, "config": args.config if not args.smoke else "smoke", "batch": B, "steps": n}
    for group, name in ((False, "random"), (True, "grouped")):
        p = paths[group]
        out[name] = {"seconds_per_step": p["seconds"] / n, "tokens_per_s": p["tokens"] / p["seconds"],
                     "padding": padding_share(lengths, epoch_batches(lengths, B, 0, 1, group))}
        print(f"batching {name:7s} B={B} on {args.spans}: {out[name]['seconds_per_step']:.3f} s/step, "
              f"{out[name]['tokens_per_s']:9,.0f} real tok/s, padding {out[name]['padding']:.1%} (whole epoch)")
    out["speedup"] = out["grouped"]["tokens_per_s"] / out["random"]["tokens_per_s"]
    print(f"batching speedup in real tokens/s (grouped / random): {out['speedup']:.2f}x")
    return out


def machine(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def main():
    p = Parser(__doc__)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    p.add_argument("--vocab", default="data/kowiki.model", help="SentencePiece model for the NSMC part (default: %(default)s)")
    p.add_argument("--train", default="data/ratings_train.txt", help="NSMC training file (default: %(default)s)")
    p.add_argument("--test", default="data/ratings_test.txt", help="NSMC test file (default: %(default)s)")
    p.add_argument("--config", default=None, help="model for the NSMC part (default: config_tiny.json on CPU, config_half.json on CUDA)")
    p.add_argument("--reviews", type=positive(), default=20000, help="training reviews in the epoch (default: %(default)s)")
    p.add_argument("--test_reviews", type=positive(), default=5000, help="test reviews (default: %(default)s)")
    p.add_argument("--batch", type=positive(), default=64, help="fine-tuning batch (default: %(default)s)")
    p.add_argument("--seeds", type=positive(), default=3, help="fine-tuning runs per path, for the accuracy (default: %(default)s)")
    p.add_argument("--repeats", type=positive(), default=5, help="timed repeats per model (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default: %(default)s)")
    p.add_argument("--only", choices=("pretrain", "memory", "finetune", "batching"), help="run one part only")
    p.add_argument("--spans", help="span JSON from data.py (made with --vocab) for the batching part; skipped without it")
    p.add_argument("--span_batch", type=positive(), default=128, help="sequences per step in the batching part (default: %(default)s)")
    p.add_argument("--steps", type=positive(), default=40, help="timed steps per path in the batching part (default: %(default)s)")
    p.add_argument("--data", action="store_true", help="benchmark corpus preparation instead (vocab.py, data.py, loading)")
    p.add_argument("--corpus", default="data/kowiki.txt", help="corpus for --data (default: %(default)s)")
    p.add_argument("--smoke", action="store_true", help="tiny dimensions and one repeat, to test the benchmark itself")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--memory_child", nargs=5, help=argparse.SUPPRESS)  # internal: one model's memory, in a fresh process
    args = p.parse_args()
    torch.set_flush_denormal(True)  # denormal floats slow CPUs down by 10x in a saturated softmax
    if args.memory_child:
        which, name, B, T, device = args.memory_child
        return memory_child(which, name, int(B), int(T), device, args.smoke)
    if args.smoke:
        args.repeats, args.warmup, args.seeds = 1, 1, 1
    if args.data:
        results = {"machine": machine(torch.device("cpu")), "date": time.strftime("%Y-%m-%d"), "data": bench_data(args)}
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        return
    if args.only in (None, "pretrain", "memory") and importlib.util.find_spec("transformers") is None:
        raise UserError("bench.py needs transformers for the comparison: pip install -r requirements-dev.txt")
    device = pick_device(args.device)
    args.config = args.config or ("config_tiny.json" if device.type == "cpu" else "config_half.json")
    peak = peak_flops(device, args.smoke)
    results = {"machine": machine(device), "torch": str(torch.__version__), "date": time.strftime("%Y-%m-%d"),
               "peak_flops": peak}
    print(f"{results['machine']}; torch {results['torch']}; peak matmul {peak / 1e9:,.0f} GFLOP/s")
    if args.only in (None, "pretrain"):
        results["pretrain"] = bench_pretrain(device, args, peak)
    if args.only in (None, "memory"):
        results["memory"] = bench_memory(device, args)
    if args.only in (None, "finetune"):
        results["finetune"] = bench_finetune(device, args)
    if args.only in (None, "batching") and args.spans:
        results["batching"] = bench_batching(device, args)
    elif args.only == "batching":
        raise UserError("--only batching needs --spans, a span JSON file from data.py")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    run_main(main)
