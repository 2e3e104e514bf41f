"""Plot metrics logs (.jsonl written by pretrain.py and train.py), one labeled curve per run.

    python plot.py runs/save_best.jsonl runs/scratch.jsonl --labels pre:1 pre:0

Fine-tuning logs give img/loss.svg (train loss per epoch) and img/accuracy.svg (test accuracy,
validation dashed); pretraining logs give img/pretrain_loss.svg (MLM and SBO loss per step).
--table prints the fine-tuning logs as a Markdown table instead (the epoch is chosen on validation).
"""
import json
import os

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from cli import atomic_open, Parser, require_file, run_main, UserError  # noqa: E402

plt.rcParams["svg.hashsalt"] = "spanbert"  # stable ids, so re-plotting the same logs gives the same file


def read_log(path):
    require_file(path)
    records = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise UserError(f"{path}:{line_no}: not a JSON line")
    return [r for r in records if "meta" not in r]  # the first line describes the run


def save(fig, path):
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format=os.path.splitext(path)[1][1:], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {path}")


def main():
    p = Parser(__doc__)
    p.add_argument("logs", nargs="+", help="metrics logs (.jsonl) from pretrain.py or train.py")
    p.add_argument("--labels", nargs="+", help="one label per log (default: the file names)")
    p.add_argument("--out", default="img", help="folder for the plots (default: %(default)s)")
    p.add_argument("--format", default="svg", choices=("svg", "png", "pdf"), help="image format (default: %(default)s)")
    p.add_argument("--table", action="store_true", help="print a Markdown table of the fine-tuning runs, no plots")
    args = p.parse_args()
    labels = args.labels or [os.path.splitext(os.path.basename(x))[0] for x in args.logs]
    if len(labels) != len(args.logs):
        raise UserError(f"--labels: got {len(labels)} labels for {len(args.logs)} logs")

    finetune, pretrain = [], []
    for path, label in zip(args.logs, labels):
        records = read_log(path)
        if records and {"epoch", "test_acc"} <= records[0].keys():
            finetune.append((label, records))
        elif records and "loss_mlm" in records[0]:
            pretrain.append((label, records))
        else:
            raise UserError(f"{path}: neither a train.py nor a pretrain.py metrics log")

    if args.table:
        print("| run | best epoch (val) | train loss | val acc | test acc | minutes |")
        print("|---|---|---|---|---|---|")
        for label, rs in finetune:
            best = max(rs, key=lambda r: r["val_acc"])  # the first epoch among ties, as train.py keeps it
            print(f"| {label} | {best['epoch']} of {rs[-1]['epoch']} | {best['loss']:.4f} | {best['val_acc']:.4f} "
                  f"| {best['test_acc']:.4f} | {rs[-1]['time'] / 60:.1f} |")
        return

    if finetune:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, rs in finetune:
            ax.plot([r["epoch"] for r in rs], [r["loss"] for r in rs], marker="o", label=label)
        ax.set(xlabel="epoch", ylabel="train loss", title="NSMC fine-tuning loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the plot: many runs
        save(fig, os.path.join(args.out, f"loss.{args.format}"))

        fig, ax = plt.subplots(figsize=(6, 4))
        for label, rs in finetune:
            line, = ax.plot([r["epoch"] for r in rs], [r["test_acc"] for r in rs], marker="o", label=f"{label} test")
            ax.plot([r["epoch"] for r in rs], [r["val_acc"] for r in rs], ls="--", color=line.get_color(), alpha=0.6,
                    label=f"{label} val")
        ax.set(xlabel="epoch", ylabel="accuracy", title="NSMC accuracy")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the plot: many runs
        save(fig, os.path.join(args.out, f"accuracy.{args.format}"))

    if pretrain:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, rs in pretrain:
            line, = ax.plot([r["step"] for r in rs], [r["loss_mlm"] for r in rs], label=f"{label} MLM")
            ax.plot([r["step"] for r in rs], [r["loss_sbo"] for r in rs], ls="--", color=line.get_color(), label=f"{label} SBO")
        ax.set(xlabel="step", ylabel="cross-entropy", title="Pretraining loss")
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the plot: many runs
        save(fig, os.path.join(args.out, f"pretrain_loss.{args.format}"))


if __name__ == "__main__":
    run_main(main)
