"""Figures and tables from the metrics logs (.jsonl) that pretrain.py, train.py and qa.py write.

    python plot.py runs/save_best.jsonl runs/scratch.jsonl --labels pretrained scratch   # your own runs
    python plot.py --question masking             # a RESULTS.md figure: img/masking.svg (--table: its table)
    python plot.py --headline                     # img/headline_pretrain.svg, img/headline_finetune.svg
    python plot.py --index > results/README.md    # every log and its row

Your own runs: fine-tuning logs give loss.svg and accuracy.svg (test solid, validation dashed; F1 for
qa.py), pretraining logs pretrain_loss.svg (MLM solid, SBO dashed); --table prints them instead. The repository's questions are listed in
QUESTIONS below: each row of a RESULTS.md table is a label and the logs (one per seed) that make it; the
figure shows every seed as a dot and the mean as a bar, validation and test side by side; the table
gives mean (min–max) with the epoch chosen on validation.
"""
import glob
import json
import os
import re

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from cli import atomic_open, Parser, require_file, run_main, UserError  # noqa: E402

plt.rcParams["svg.hashsalt"] = "spanbert"  # stable ids, so re-plotting the same logs gives the same file

# question → (title, [(row label, log glob relative to results/)]); one log per seed
QUESTIONS = {
    "best": ("Headline: the recipe validation picks against the model from scratch (16k review vocab)", [
        ("from scratch, lr 1e-4 (validation's rate for it)", "best/nsmc-scratch-rv16-lr1e-4-s*.jsonl"),
        ("pretrained, 3 epochs at 2e-4", "best/nsmc-rv16-whole-m40-ep3-s*.jsonl")]),
    "main": ("Pooling, fine-tuning rate, pretraining text and dropout (mix20 vocab)", [
        ("from scratch", "main/nsmc-scratch-mix20-s*.jsonl"),
        ("pretrained, max pooling", "main/nsmc-mix20-s*.jsonl"),
        ("pretrained, [CLS] pooling", "main/nsmc-mix20-cls-s*.jsonl"),
        ("pretrained, mean pooling", "main/nsmc-mix20-mean-s*.jsonl"),
        ("from scratch, lr 5e-4", "main/nsmc-scratch-mix20-lr5e-4-s*.jsonl"),
        ("pretrained, lr 5e-4", "main/nsmc-mix20-lr5e-4-s*.jsonl"),
        ("from scratch, lr 1e-3", "main/nsmc-scratch-mix20-lr1e-3-s*.jsonl"),
        ("pretrained, lr 1e-3", "main/nsmc-mix20-lr1e-3-s*.jsonl"),
        ("pretrained on kowiki alone", "main/nsmc-mix20-wikionly-s*.jsonl"),
        ("pretrained without dropout", "main/nsmc-mix20-nodrop-s*.jsonl")]),
    "vocab": ("Vocab: kowiki + reviews (8k) against the training reviews alone (8k, 16k)", [
        ("kowiki + reviews 8k, from scratch", "main/nsmc-scratch-mix20-s*.jsonl"),
        ("kowiki + reviews 8k, pretrained", "main/nsmc-mix20-s*.jsonl"),
        ("reviews 8k, from scratch", "vocab/nsmc-scratch-rv8-s*.jsonl"),
        ("reviews 8k, pretrained", "vocab/nsmc-rv8-s*.jsonl"),
        ("reviews 16k, from scratch", "vocab/nsmc-scratch-rv16-s*.jsonl"),
        ("reviews 16k, pretrained", "vocab/nsmc-rv16-s*.jsonl")]),
    "budget": ("Pretraining budget and schedule (8k review vocab unless noted)", [
        ("from scratch", "vocab/nsmc-scratch-rv8-s*.jsonl"),
        ("1,125 steps, 5% warmup", "budget/nsmc-rv8-quarter-s*.jsonl"),
        ("1,125 steps, 20% warmup", "budget/nsmc-rv8-quarter-wu20-s*.jsonl"),
        ("2,250 steps", "budget/nsmc-rv8-half-s*.jsonl"),
        ("4,500 steps", "vocab/nsmc-rv8-s*.jsonl"),
        ("16k, chosen recipe, pretraining seed 42", "best/nsmc-rv16-whole-m40-ep3-s42.jsonl"),
        ("16k, chosen recipe, pretraining seed 1", "budget/nsmc-rv16-whole-m40-pseed1-ep3-s*.jsonl")]),
    "seqlen": ("Sequence length and packing (16k review vocab, 4,500 steps)", [
        ("from scratch", "vocab/nsmc-scratch-rv16-s*.jsonl"),
        ("128 tokens, packed", "vocab/nsmc-rv16-s*.jsonl"),
        ("64 tokens, packed", "seqlen/nsmc-rv16-seq64-s*.jsonl"),
        ("32 tokens, packed", "seqlen/nsmc-rv16-seq32-s*.jsonl"),
        ("32 tokens, packed, 15% masked", "seqlen/nsmc-rv16-seq32-share15-s*.jsonl"),
        ("32 tokens, one review each", "seqlen/nsmc-rv16-seq32-onereview-s*.jsonl"),
        ("whole reviews, grouped by length", "seqlen/nsmc-rv16-whole-s*.jsonl"),
        ("8k vocab, half budget, 128 tokens", "budget/nsmc-rv8-half-s*.jsonl"),
        ("8k vocab, half budget, 64 tokens", "seqlen/nsmc-rv8-half-seq64-s*.jsonl")]),
    "masking": ("Masking rate (whole reviews, 16k review vocab, 2 fine-tuning epochs)", [
        ("from scratch", "vocab/nsmc-scratch-rv16-s*.jsonl"),
        ("--mask_prob 0.15", "seqlen/nsmc-rv16-whole-s*.jsonl"),
        ("--mask_prob 0.3", "masking/nsmc-rv16-whole-m30-s*.jsonl"),
        ("--mask_prob 0.4", "masking/nsmc-rv16-whole-m40-s*.jsonl"),
        ("--mask_prob 0.5", "masking/nsmc-rv16-whole-m50-s*.jsonl")]),
    "finetune": ("Fine-tuning schedule, for each side (16k review vocab)", [
        ("from scratch, lr 1e-4", "best/nsmc-scratch-rv16-lr1e-4-s*.jsonl"),
        ("from scratch, lr 2e-4", "vocab/nsmc-scratch-rv16-s*.jsonl"),
        ("from scratch, lr 5e-4", "finetune/nsmc-scratch-rv16-lr5e-4-s*.jsonl"),
        ("from scratch, lr 2e-4, 3 epochs", "finetune/nsmc-scratch-rv16-ep3-s*.jsonl"),
        ("pretrained, lr 1e-4", "finetune/nsmc-rv16-whole-m40-lr1e-4-s*.jsonl"),
        ("pretrained, lr 2e-4", "masking/nsmc-rv16-whole-m40-s*.jsonl"),
        ("pretrained, lr 5e-4", "finetune/nsmc-rv16-whole-m40-lr5e-4-s*.jsonl"),
        ("pretrained, lr 2e-4, 3 epochs", "best/nsmc-rv16-whole-m40-ep3-s*.jsonl")]),
    "probe": ("Linear probes: a frozen encoder, only the output layer trained", [
        (f"{name}, lr {lr}", f"probe/probe-{enc}{'' if lr == '1e-3' else '-lr' + lr}-s*.jsonl")
        for enc, name in (("scratch-mix20", "kowiki + reviews 8k, random init"), ("mix20", "kowiki + reviews 8k, pretrained"),
                          ("scratch-rv16", "reviews 16k, random init"), ("rv16", "reviews 16k, pretrained at 128 tokens"),
                          ("rv16-seq64", "reviews 16k, pretrained at 64 tokens"),
                          ("rv16-seq32", "reviews 16k, pretrained at 32 tokens"))
        for lr in ("1e-3", "1e-2")]),
    "few_labels": ("Few labels (mix20 vocab; test on the first 10,000 test reviews)", [
        ("5,000 reviews, from scratch", "few_labels/nsmc-scratch-mix20-n5000-s*.jsonl"),
        ("5,000 reviews, pretrained", "few_labels/nsmc-mix20-n5000-s*.jsonl"),
        ("20,000 reviews, from scratch", "few_labels/nsmc-scratch-mix20-n20000-s*.jsonl"),
        ("20,000 reviews, pretrained", "few_labels/nsmc-mix20-n20000-s*.jsonl")]),
    "qa": ("Extractive QA on the KorQuAD 1.0 dev file split by article (wiki8 vocab)", [
        ("from scratch, lr 3e-4", "qa/qa-scratch-wiki8-s*.jsonl"),
        ("from scratch, lr 1e-3", "qa/qa-scratch-wiki8-lr1e-3-s*.jsonl"),
        ("SpanBERT (span masking + SBO), lr 3e-4", "qa/qa-wiki8-span-sbo-s*.jsonl"),
        ("SpanBERT, lr 1e-3", "qa/qa-wiki8-span-sbo-lr1e-3-s*.jsonl"),
        ("SpanBERT, lr 1e-3, windows of 256 tokens", "qa/qa-wiki8-span-sbo-lr1e-3-n256-s*.jsonl")]),
    "ablation": ("The paper's ablations: masking scheme and SBO at one budget (wiki8 vocab)", [
        (label, (f"qa/qa-{enc}-lr1e-3-s*.jsonl" if enc in ("scratch-wiki8", "wiki8-span-sbo")
                 else f"ablation/qa-{enc}-lr1e-3-s*.jsonl",
                 f"ablation/nsmc-{enc}-s*.jsonl"))
        for enc, label in (("scratch-wiki8", "from scratch"), ("wiki8-subword", "subword masking (BERT), MLM"),
                           ("wiki8-word", "whole-word masking, MLM"), ("wiki8-span", "span masking, MLM"),
                           ("wiki8-span-sbo", "span masking, MLM + SBO (SpanBERT)"))]),
}
METRICS = {"nsmc": ("val_acc", "test_acc", "accuracy"), "qa": ("val_f1", "test_f1", "F1")}
TASKS = {"nsmc": "NSMC", "qa": "KorQuAD"}


def read_log(path):
    """(meta, records) of a metrics log; one clear line for anything else."""
    require_file(path)
    meta, records = None, []
    try:
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                try:
                    r = json.loads(line)
                except ValueError:
                    raise UserError(f"{path}:{line_no}: not a JSON line")
                if not isinstance(r, dict):
                    raise UserError(f"{path}:{line_no}: not a metrics record (a JSON object)")
                if "meta" in r:
                    meta = r["meta"]
                else:
                    records.append(r)
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})")
    return meta or {}, records


def kind(records):
    """'nsmc' or 'qa' for fine-tuning logs (one record per epoch), 'pretrain', or None (also when a
    field it needs is not a number)."""
    for name, keys in (("nsmc", ("epoch", "loss", "val_acc", "test_acc", "time")),
                       ("qa", ("epoch", "loss", "val_f1", "test_f1", "val_em", "test_em", "time")),
                       ("pretrain", ("step", "loss_mlm"))):
        if records and all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)
                           for r in records for k in keys):
            return name
    return None


def best_epoch(path):
    """The record of the epoch validation picks (the first among ties, as train.py keeps it), its kind,
    and the number of epochs run."""
    _, records = read_log(path)
    k = kind(records)
    if k not in METRICS:
        raise UserError(f"{path}: not a fine-tuning log (train.py or qa.py)")
    return max(records, key=lambda r: r[METRICS[k][0]]), k, records[-1]["epoch"]


def rows_of(question, root):
    """[(label, {kind: [(seed log, best record, epochs)]})] for the rows that have logs; a row's pattern
    is one glob, or a tuple of globs, one per task."""
    if question not in QUESTIONS:
        raise UserError(f"unknown question {question!r} (known: {', '.join(QUESTIONS)})")
    rows = []
    for label, patterns in QUESTIONS[question][1]:
        tasks = {}
        for pattern in (patterns,) if isinstance(patterns, str) else patterns:
            for path in logs_of(root, pattern):
                best, k, n = best_epoch(path)
                tasks.setdefault(k, []).append((path, best, n))
        if tasks:
            rows.append((label, tasks))
    if not rows:
        raise UserError(f"{root}: no logs for the question {question!r}")
    return rows


def logs_of(root, pattern):
    """The seed logs of a row, seed 42 first. "-s*" means a seed: nsmc-rv16-s* must not take
    nsmc-rv16-seq64-s42.jsonl."""
    seed_log = re.escape(os.path.basename(pattern)).replace(r"\*", r"\d+")
    return sorted((p for p in glob.glob(os.path.join(root, pattern)) if re.fullmatch(seed_log, os.path.basename(p))),
                  key=seed_order)


def seed_order(path):
    m = re.search(r"-s(\d+)\.jsonl$", path)
    return (0 if m and m.group(1) == "42" else 1, int(m.group(1)) if m else 0, path)


def spread(values, digits=4):
    mean = sum(values) / len(values)
    return f"{mean:.{digits}f}" + (f" ({min(values):.{digits}f}–{max(values):.{digits}f})" if len(values) > 1 else "")


def kinds_of(rows):
    """The tasks of a question's rows, in the order its spec names them."""
    return list(dict.fromkeys(k for _, tasks in rows for k in tasks))


def table(question, root):
    """A Markdown table: one row per configuration, mean (min–max) over its seeds, per task."""
    rows = rows_of(question, root)
    kinds = kinds_of(rows)
    head = [QUESTIONS[question][0]]
    for k in kinds:
        val, test, name = METRICS[k]
        prefix = f"{TASKS[k]} " if len(kinds) > 1 else ""
        head += [f"{prefix}seeds", f"{prefix}best epochs", f"{prefix}val {name}", f"{prefix}test {name}"]
        head += [f"{prefix}val EM", f"{prefix}test EM"] if k == "qa" else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, tasks in rows:
        cells = [label]
        for k in kinds:
            seeds = tasks.get(k, [])
            val, test, _ = METRICS[k]
            digits = 2 if k == "qa" else 4
            pick = lambda key: spread([r[key] for _, r, _ in seeds], digits) if seeds else ""  # noqa: E731
            cells += [str(len(seeds)) if seeds else "", ", ".join(f"{r['epoch']} of {n}" for _, r, n in seeds),
                      pick(val), pick(test)]
            cells += [pick("val_em"), pick("test_em")] if k == "qa" else []
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def dot_figure(question, root, out, fmt):
    """One row per configuration: each seed a dot, the mean a bar; validation and test side by side,
    one pair of panels per task."""
    rows = rows_of(question, root)
    kinds = kinds_of(rows)
    panels = [(k, split) for k in kinds for split in (0, 1)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 0.45 * len(rows) + 1.2), sharey=True,
                             squeeze=False)
    for ax, (k, split) in zip(axes[0], panels):
        key, name = METRICS[k][split], METRICS[k][2]
        for y, (label, tasks) in enumerate(rows):
            values = [r[key] for _, r, _ in tasks.get(k, [])]
            if values:
                ax.scatter(values, [y] * len(values), s=18, color="tab:blue", alpha=0.7, zorder=3)
                ax.plot([sum(values) / len(values)] * 2, [y - 0.3, y + 0.3], color="black", lw=1.5, zorder=4)
        task = f"{TASKS[k]} " if len(kinds) > 1 else ""
        ax.set(xlabel=f"{task}{('validation', 'test')[split]} {name}", yticks=range(len(rows)),
               yticklabels=[r[0] for r in rows])
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].invert_yaxis()
    fig.suptitle(f"{QUESTIONS[question][0]}\n(dots: seeds; bar: mean; epoch chosen on validation)", fontsize=10)
    save(fig, os.path.join(out, f"{question}.{fmt}"))


def heldout_losses(path):
    """(unigram, MLM, SBO) losses of a pretrain.py --eval table: its 'all' row."""
    for line in open(path, encoding="utf-8"):
        cols = line.split()
        if cols[:1] == ["all"]:
            return float(cols[2]), float(cols[3]), float(cols[5])
    raise UserError(f"{path}: no 'all' row (not a pretrain.py --eval table)")


def headline(root, out, fmt):
    """The headline encoder's pretraining losses, and accuracy per epoch of it and the model from scratch."""
    _, pre = read_log(os.path.join(root, "pretrain-rv16-whole-m40.jsonl"))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([r["step"] for r in pre], [r["loss_mlm"] for r in pre], label="MLM (training batches)")
    ax.plot([r["step"] for r in pre], [r["loss_sbo"] for r in pre], label="SBO (training batches)")
    held = os.path.join(root, "heldout32-rv16-whole-m40.txt")
    if os.path.isfile(held):  # the same held-out targets for all three: what the context buys
        unigram, mlm, sbo = heldout_losses(held)
        ax.axhline(unigram, color="grey", ls=":", label="held-out kowiki: unigram entropy (no context)")
        ax.plot([pre[-1]["step"]] * 2, [mlm, sbo], ls="none", marker="*", ms=10, color="black",
                label="held-out kowiki: MLM, SBO at the end")
    ax.set(xlabel="pretraining step (128 sequences)", ylabel="cross-entropy (nats)",
           title="Pretraining the headline encoder (config_tiny, 16k review vocab)")
    ax.legend(fontsize="small")
    save(fig, os.path.join(out, f"headline_pretrain.{fmt}"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, pattern in QUESTIONS["best"][1]:
        runs = [read_log(p)[1] for p in sorted(glob.glob(os.path.join(root, "..", pattern)))]
        if not runs:
            continue
        epochs = range(1, min(len(r) for r in runs) + 1)
        mean = lambda key: [sum(r[e - 1][key] for r in runs) / len(runs) for e in epochs]  # noqa: E731
        line, = ax.plot(epochs, mean("test_acc"), marker="o", label=f"{label}: test")
        ax.plot(epochs, mean("val_acc"), marker="o", ls="--", color=line.get_color(), label=f"{label}: validation")
    tfidf = os.path.join(root, "tfidf.jsonl")
    if os.path.isfile(tfidf):
        ax.axhline(json.loads(open(tfidf).readline())["test_acc"], color="grey", ls=":", label="char TF-IDF: test")
    ax.set(xlabel="fine-tuning epoch", ylabel="NSMC accuracy (mean of 3 seeds)", title="NSMC fine-tuning")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="small")
    save(fig, os.path.join(out, f"headline_finetune.{fmt}"))


def own_runs(paths, labels, out, fmt, as_table=False):
    """Curves for any logs: train loss and accuracy (or F1) per epoch, pretraining losses per step;
    or a Markdown table of the fine-tuning runs (epoch chosen on validation)."""
    finetune, pretrain = [], []
    for path, label in zip(paths, labels):
        _, records = read_log(path)
        k = kind(records)
        if k is None:
            raise UserError(f"{path}: not a metrics log of pretrain.py, train.py or qa.py")
        (pretrain if k == "pretrain" else finetune).append((label, k, records))
    if as_table:
        print("| run | best epoch (val) | train loss | val | test | minutes |")
        print("|---|---|---|---|---|---|")
        for label, k, rs in finetune:
            val, test, _ = METRICS[k]
            best = max(rs, key=lambda r: r[val])  # the first epoch among ties, as the scripts keep it
            print(f"| {label} | {best['epoch']} of {rs[-1]['epoch']} | {best['loss']:.4f} | {best[val]:.4f} "
                  f"| {best[test]:.4f} | {rs[-1]['time'] / 60:.1f} |")
        return
    if finetune:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, _, rs in finetune:
            ax.plot([r["epoch"] for r in rs], [r["loss"] for r in rs], marker="o", label=label)
        ax.set(xlabel="epoch", ylabel="train loss", title="Fine-tuning loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small")
        save(fig, os.path.join(out, f"loss.{fmt}"))
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, k, rs in finetune:
            val, test, name = METRICS[k]
            line, = ax.plot([r["epoch"] for r in rs], [r[test] for r in rs], marker="o", label=f"{label} test")
            ax.plot([r["epoch"] for r in rs], [r[val] for r in rs], ls="--", color=line.get_color(), label=f"{label} val")
        ax.set(xlabel="epoch", ylabel=name, title="Fine-tuning")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small")
        save(fig, os.path.join(out, f"accuracy.{fmt}"))
    if pretrain:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, _, rs in pretrain:
            line, = ax.plot([r["step"] for r in rs], [r["loss_mlm"] for r in rs], label=f"{label} MLM")
            if any("loss_sbo" in r for r in rs):
                ax.plot([r["step"] for r in rs if "loss_sbo" in r], [r["loss_sbo"] for r in rs if "loss_sbo" in r],
                        ls="--", color=line.get_color(), label=f"{label} SBO")
        ax.set(xlabel="step", ylabel="cross-entropy (nats)", title="Pretraining loss")
        ax.legend(fontsize="small")
        save(fig, os.path.join(out, f"pretrain_loss.{fmt}"))


def index(root):
    """results/README.md: the naming scheme and, per folder, every file with the row it belongs to."""
    rows = {}
    for question, (_, spec) in QUESTIONS.items():
        for label, patterns in spec:
            for pattern in (patterns,) if isinstance(patterns, str) else patterns:
                for path in logs_of(root, pattern):
                    rows.setdefault(os.path.relpath(path, root), []).append(f"{question}: {label}")
    lines = [INDEX_HEAD]
    for folder in sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))):
        lines += [f"\n## {folder}/ (`experiments/{folder}.sh`)\n", "| file | row |", "|---|---|"]
        for name in sorted(os.listdir(os.path.join(root, folder))):
            rel = f"{folder}/{name}"
            what = "; ".join(rows.get(rel, [])) or describe(name)
            lines.append(f"| `{name}` | {what} |")
    return "\n".join(lines)


def describe(name):
    """What a log that is not a table row holds, from its name."""
    if m := re.fullmatch(r"pretrain-(.+)\.jsonl", name):
        return f"pretraining log of encoder `{m.group(1)}`"
    if m := re.fullmatch(r"heldout(\d+)-(.+)\.txt", name):
        return f"`pretrain.py --eval` of `{m.group(2)}` on held-out kowiki text cut at {m.group(1)} tokens"
    if name == "tfidf.jsonl":
        return "character TF-IDF + logistic regression (`baseline.py`)"
    return "fine-tuning log outside the RESULTS.md tables"


INDEX_HEAD = """# results/: the logs behind RESULTS.md

One folder per recipe in `experiments/` (the folder's name is the script's). Every log's first line
(`{"meta": …}`) holds the arguments, config, package versions and git commit of the run that wrote it;
the names only say which row it is:

- `pretrain-<encoder>.jsonl`: a `pretrain.py` run; `<encoder>` starts with the vocab (`mix20`: kowiki +
  review text, 8,000 pieces; `rv8`, `rv16`: the training reviews, 8,000 or 16,000 pieces), then what
  differs (`-seq32`: 32-token sequences, `-whole`: whole reviews grouped by length, `-m40`: `data.py
  --mask_prob 0.4`, `-half`/`-quarter`: of the 4,500 steps, `-pseed1`: pretraining seed 1, …);
- `heldout<T>-<encoder>.txt`: `pretrain.py --eval` on held-out kowiki text cut at T tokens;
- `nsmc-<encoder>[-<variant>]-s<seed>.jsonl`: a `train.py` fine-tuning, `scratch-<vocab>` when not
  pretrained; the variant names what differs from the recipe's fine-tuning (`-lr5e-4`, `-ep3`, `-cls`,
  `-n5000`: the first 5,000 training reviews);
- `probe-<encoder>[-lr…]-s<seed>.jsonl`: `train.py --freeze`, a linear probe;
- `qa-<encoder>[-<variant>]-s<seed>.jsonl`: a `qa.py` fine-tuning on KorQuAD.

Made by `python plot.py --index > results/README.md`; the rows are `plot.py`'s `QUESTIONS`."""


def save(fig, path):
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format=os.path.splitext(path)[1][1:], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {path}")


def main():
    p = Parser(__doc__)
    p.add_argument("logs", nargs="*", help="metrics logs (.jsonl) of your own runs")
    p.add_argument("--labels", nargs="+", help="one label per log (default: the file names)")
    p.add_argument("--question", choices=tuple(QUESTIONS), help="one RESULTS.md question, from the logs under --results")
    p.add_argument("--headline", action="store_true", help="the headline figures, from --results/best")
    p.add_argument("--index", action="store_true", help="print results/README.md: every log under --results and its row")
    p.add_argument("--table", action="store_true", help="print a Markdown table (of the logs, or of --question) instead")
    p.add_argument("--results", default="results", help="the results folder (default: %(default)s)")
    p.add_argument("--out", default="img", help="folder for the figures (default: %(default)s)")
    p.add_argument("--format", default="svg", choices=("svg", "png", "pdf"), help="image format (default: %(default)s)")
    args = p.parse_args()
    if args.index:
        return print(index(args.results))
    if args.question:
        return print(table(args.question, args.results)) if args.table else \
            dot_figure(args.question, args.results, args.out, args.format)
    if args.headline:
        return headline(os.path.join(args.results, "best"), args.out, args.format)
    if not args.logs:
        raise UserError("give logs, or --question, --headline or --index (see --help)")
    labels = args.labels or [os.path.splitext(os.path.basename(x))[0] for x in args.logs]
    if len(labels) != len(args.logs):
        raise UserError(f"--labels: got {len(labels)} labels for {len(args.logs)} logs")
    own_runs(args.logs, labels, args.out, args.format, args.table)


if __name__ == "__main__":
    run_main(main)
