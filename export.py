"""Export a checkpoint to a Hugging Face transformers folder: config.json, model.safetensors, a fast
tokenizer (tokenizer.json and its two config files) and a README.md model card. The encoder is BERT
(post-LN, embedding LayerNorm, exact-erf GELU), so transformers reproduces it to float rounding.

    python export.py --save runs/save_pretrain.pth --vocab data/kowiki.model --out runs/spanbert-hf
    python -c "from transformers import AutoModel; AutoModel.from_pretrained('runs/spanbert-hf')"

A pretrain.py checkpoint becomes BertForMaskedLM (the SBO head, which BERT lacks, goes to
sbo_head.safetensors); a qa.py checkpoint becomes BertForQuestionAnswering; a train.py classifier
becomes BertModel plus classifier.safetensors, because BERT's sequence classifier adds a pooler
(dense + tanh on [CLS]) that ours does not have. Needs requirements-hf.txt (not transformers itself).
"""
import json
import os
import shutil
import struct
import tempfile
from contextlib import contextmanager

import torch

from cli import check_vocab, ensure_folder, load_vocab, Parser, run_main, SPECIALS, UserError
from common import load_checkpoint
from model import Classifier, Config, SpanBERT, SpanQA

NORMAL = 1                                               # SentencePiece's type of an ordinary piece
SPECIAL_TYPES = (3, 2, 3, 3, 4, 4, 4)                    # control [PAD] [BOS] [EOS], unknown [UNK], user-defined [SEP] [CLS] [MASK]
STAND_IN = {s: chr(0xFDD0 + i) for i, s in enumerate(SPECIALS) if i >= 4}  # noncharacters: never in real text
JOIN_GUARD = "\ufddf"                                    # keeps NFC from joining a syllable and a final consonant
ARCH = {"pretrain": "BertForMaskedLM", "classifier": "BertModel", "qa": "BertForQuestionAnswering"}
DATA_LICENSES = ("Korean Wikipedia (the pretraining text and the vocab): CC BY-SA (4.0; 3.0 before mid-2023), "
                 "https://ko.wikipedia.org/wiki/위키백과:저작권",
                 "NSMC (sentiment fine-tuning; some of the repo's vocabs and pretraining mixes add its training reviews): "
                 "CC0 1.0, https://github.com/e9t/nsmc",
                 "KorQuAD 1.0 (question-answering fine-tuning): CC BY-ND 2.0 KR, https://korquad.github.io/KorQuad%201.0/")


# ---- the SentencePiece model, read without protobuf ----

def proto_fields(buf):
    """(field number, value) of each field of a serialized protobuf message: int, float or bytes."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        kind = key & 7
        if kind == 0:
            value, i = varint(buf, i)
        elif kind == 1:
            value, i = buf[i:i + 8], i + 8
        elif kind == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif kind == 5:
            value, i = struct.unpack_from("<f", buf, i)[0], i + 4
        else:
            raise ValueError(f"unknown wire type {kind}")
        yield key >> 3, value


def varint(buf, i):
    value = shift = 0
    while buf[i] & 0x80:
        value, shift, i = value | (buf[i] & 0x7F) << shift, shift + 7, i + 1
    return value | buf[i] << shift, i + 1


def read_spm(sp, path):
    """ModelProto → pieces [(piece, score, type)], the normalizer's charsmap and rule name; refuses
    settings the tokenizer below does not reproduce."""
    pieces, trainer, normalizer = [], {}, {}
    for num, value in proto_fields(sp.serialized_model_proto()):
        if num == 1:
            p = dict(proto_fields(value))
            pieces.append((p[1].decode("utf-8"), p.get(2, 0.0), p.get(3, NORMAL)))
        elif num in (2, 3):
            (trainer if num == 2 else normalizer).update(proto_fields(value))
    rule = normalizer.get(1, b"").decode("utf-8", "replace")
    unsupported = [what for what, bad in (
        ("not a BPE model", trainer.get(3, 1) != 2), ("byte fallback", trainer.get(35, 0)),
        ("whitespace as suffix", trainer.get(24, 0)), (f"normalization {rule}", rule not in ("nmt_nfkc", "nmt_nfkc_cf")),
        ("no dummy prefix", not normalizer.get(3, 1)), ("extra whitespace kept", not normalizer.get(4, 1)),
        ("whitespace not escaped", not normalizer.get(5, 1)),
        ("special pieces of other types", tuple(t for _, _, t in pieces[:7]) != SPECIAL_TYPES),
        ("more user-defined or byte pieces", any(t != NORMAL for _, _, t in pieces[7:]))) if bad]
    if unsupported:
        raise UserError(f"{path}: SentencePiece settings the exported tokenizer cannot reproduce ({', '.join(unsupported)}); "
                        "make the vocab with vocab.py")
    return pieces, normalizer.get(2, b""), rule


# ---- the fast tokenizer ----

def build_tokenizer(pieces, charsmap):
    """A tokenizers.Tokenizer that gives SentencePiece's ids, [CLS] … [SEP] around them."""
    from tokenizers import AddedToken, decoders, normalizers, pre_tokenizers, processors, Regex, Tokenizer
    from tokenizers.models import BPE
    vocab = {piece: i for i, (piece, _, _) in enumerate(pieces)}
    score = {piece: s for piece, s, kind in pieces if kind == NORMAL}
    # SentencePiece BPE merges the adjacent pair whose joined piece scores highest: rank merges that way
    merges = sorted((-s, vocab[p], p[:k], p[k:]) for p, s in score.items() for k in range(1, len(p))
                    if p[:k] in score and p[k:] in score)
    # SentencePiece also finds [SEP] [CLS] [MASK] inside text and never splits them. The normalizer
    # protects them from case folding behind stand-ins and restores them; these merges, ranked first,
    # then put each back together from its letters. Their intermediate pieces (ids from len(pieces))
    # never reach the output.
    assemble = [(s[:k], s[k]) for s in STAND_IN for k in range(1, len(s))]
    for left, right in assemble:
        for piece in (left, right, left + right):
            vocab.setdefault(piece, len(vocab))
    tok = Tokenizer(BPE(vocab, assemble + [(left, right) for *_, left, right in merges], unk_token="[UNK]", fuse_unk=True))
    steps = [normalizers.Replace(s, c) for s, c in STAND_IN.items()]
    # tokenizers' Precompiled looks a whole grapheme up by its first match and drops the rest ("A" +
    # U+0300 → "a"): a \x01 before each combining character keeps its lookups to one code point, and
    # the charsmap deletes \x01, as SentencePiece does
    steps += [normalizers.Replace(Regex(r"(?<=.)(?=[\P{Grapheme_Base}\p{Mc}\p{Emoji_Modifier}\u0e33\u0eb3])"), "\x01"),
              normalizers.Precompiled(charsmap)]
    # SentencePiece maps whole sequences, so jamo typed apart (ㄷㅏ) become one syllable (다): NFC does
    # that here, kept from joining a syllable and a following final consonant, which it leaves apart
    steps += [normalizers.Replace(Regex("(?<=[\uac00-\ud7a3])(?=[\u11a8-\u11c2])"), JOIN_GUARD), normalizers.NFC(),
              normalizers.Replace(JOIN_GUARD, "")]
    steps += [normalizers.Replace(c, s) for s, c in STAND_IN.items()]
    steps += [normalizers.Replace(Regex(" {2,}"), " "), normalizers.Replace(Regex(r" \z"), "")]  # remove_extra_whitespaces
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 5), ("[SEP]", 4)])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    return tok


def tokenizer_files(pieces, charsmap, max_len):
    """tokenizer.json, tokenizer_config.json and special_tokens_map.json, as text."""
    named = {"pad_token": "[PAD]", "unk_token": "[UNK]", "sep_token": "[SEP]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_len,
              # the specials typed in text are found by the normalizer and merges, as SentencePiece
              # does; the added-token matcher would also match [PAD] [UNK] [BOS] [EOS], which it does not
              "split_special_tokens": True, "clean_up_tokenization_spaces": False,
              "model_input_names": ["input_ids", "token_type_ids", "attention_mask"], **named}
    tok = json.loads(build_tokenizer(pieces, charsmap).to_str())
    # merges as "left right", the form every tokenizers version reads (pieces hold no spaces: ▁ stands for them)
    tok["model"]["merges"] = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    return {"tokenizer.json": json.dumps(tok, ensure_ascii=False, indent=2),
            "tokenizer_config.json": json.dumps(config, indent=2), "special_tokens_map.json": json.dumps(named, indent=2)}


# ---- weights and config ----

def encoder_weights(enc):
    """Our Encoder under BertModel's names (prefix bert.)."""
    w = {"embeddings.word_embeddings.weight": enc.embed.tok.weight, "embeddings.position_embeddings.weight": enc.embed.pos.weight,
         "embeddings.token_type_embeddings.weight": enc.embed.seg.weight,
         "embeddings.LayerNorm.weight": enc.embed.norm.weight, "embeddings.LayerNorm.bias": enc.embed.norm.bias}
    for i, b in enumerate(enc.blocks):
        p = f"encoder.layer.{i}."
        # Attention.forward views qkv's output as (3, H, K): rows [Q; K; V], each head-major like BERT's
        for name, weight, bias in zip(("query", "key", "value"), b.attn.qkv.weight.chunk(3), b.attn.qkv.bias.chunk(3)):
            w[f"{p}attention.self.{name}.weight"], w[f"{p}attention.self.{name}.bias"] = weight, bias
        for ours, theirs in ((b.attn.out, "attention.output.dense"), (b.norm1, "attention.output.LayerNorm"),
                             (b.ff.fc1, "intermediate.dense"), (b.ff.fc2, "output.dense"), (b.norm2, "output.LayerNorm")):
            w[f"{p}{theirs}.weight"], w[f"{p}{theirs}.bias"] = ours.weight, ours.bias
    return {"bert." + k: v for k, v in w.items()}


def export_weights(kind, model, n_extra):
    """(model.safetensors tensors, {extra file: tensors}) for one kind of checkpoint. The word embeddings
    get n_extra zero rows for the tokenizer's assembling pieces, and the MLM bias -1e4 there, so that
    vocab_size == len(tokenizer) (DataCollatorForLanguageModeling draws random ids below it) and those
    ids are never predicted."""
    weights, extra = encoder_weights(model.encoder), {}
    tok = weights["bert.embeddings.word_embeddings.weight"]
    weights["bert.embeddings.word_embeddings.weight"] = torch.cat([tok, tok.new_zeros(n_extra, tok.shape[1])])
    if kind == "pretrain":  # the decoder is tied to the word embeddings; only its bias is stored
        for ours, theirs in ((model.mlm.dense, "dense"), (model.mlm.norm, "LayerNorm")):
            weights[f"cls.predictions.transform.{theirs}.weight"] = ours.weight
            weights[f"cls.predictions.transform.{theirs}.bias"] = ours.bias
        bias = model.mlm.decoder.bias
        weights["cls.predictions.bias"] = torch.cat([bias, bias.new_full((n_extra,), -1e4)])
        extra["sbo_head.safetensors"] = {k: v for k, v in model.sbo.state_dict().items() if k != "decoder.embedding.weight"}
    elif kind == "qa":
        weights["qa_outputs.weight"], weights["qa_outputs.bias"] = model.head.weight, model.head.bias
    else:
        extra["classifier.safetensors"] = {"weight": model.head.weight, "bias": model.head.bias}

    def plain(tensors):  # safetensors wants float32 tensors that share no memory
        return {k: v.detach().float().contiguous().clone() for k, v in tensors.items()}
    return plain(weights), {name: plain(t) for name, t in extra.items()}


def bert_config(kind, c, n_extra):
    return {"architectures": [ARCH[kind]], "model_type": "bert", "vocab_size": c.n_enc_vocab + n_extra, "hidden_size": c.d_hidn,
            "num_hidden_layers": c.n_layer, "num_attention_heads": c.n_head, "intermediate_size": c.d_ff,
            "hidden_act": "gelu",  # exact erf GELU, as F.gelu
            "hidden_dropout_prob": c.dropout, "attention_probs_dropout_prob": c.dropout,
            "max_position_embeddings": c.n_enc_seq, "type_vocab_size": c.n_seg_type, "layer_norm_eps": c.layer_norm_epsilon,
            "initializer_range": 0.02, "pad_token_id": c.i_pad, "position_embedding_type": "absolute",
            "tie_word_embeddings": True}


# ---- the checkpoint ----

def read_checkpoint(path, vocab_size, vocab_path=None):
    """(kind, model with the checkpoint's weights, checkpoint) for a pretrain.py, train.py or qa.py checkpoint."""
    ckpt = load_checkpoint(path)
    if not (isinstance(ckpt, dict) and isinstance(ckpt.get("model"), dict) and isinstance(ckpt.get("config"), dict)
            and isinstance(ckpt.get("vocab_size"), int)):
        raise UserError(f"{path}: not a checkpoint of pretrain.py, train.py or qa.py (no model, config and vocab_size)")
    if ckpt.get("task") == "qa":
        kind = "qa"
    elif "pooling" in ckpt:
        kind = "classifier"
    elif "mlm.dense.weight" in ckpt["model"]:
        kind = "pretrain"
    else:
        raise UserError(f"{path}: neither a pretrain.py, a train.py nor a qa.py checkpoint (a resumable state? "
                        "export the final checkpoint)")
    if ckpt["vocab_size"] != vocab_size:
        raise UserError(f"{path}: trained with a vocab of {ckpt['vocab_size']} pieces, but --vocab has {vocab_size}")
    if vocab_path:  # the same size is not the same vocab: compare the bytes the checkpoint recorded
        check_vocab(path, ckpt, vocab_path)
    try:
        c = Config.from_dict(ckpt["config"], path)
    except ValueError as e:
        raise UserError(str(e))
    if c.n_head * c.d_head != c.d_hidn:
        raise UserError(f"{path}: n_head × d_head = {c.n_head * c.d_head} differs from d_hidn {c.d_hidn}, "
                        "which BERT in transformers cannot express")
    if c.n_enc_vocab != vocab_size:
        raise UserError(f"{path}: config n_enc_vocab {c.n_enc_vocab} differs from its vocab_size {vocab_size}")
    try:
        model = {"pretrain": SpanBERT, "qa": SpanQA}.get(kind, lambda c: Classifier(c, ckpt["pooling"]))(c)
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, ValueError) as e:  # an unknown pooling, missing or misshapen weights
        raise UserError(f"{path}: does not load into model.py ({str(e).strip().splitlines()[-1].strip()[:200]})")
    return kind, model.eval(), ckpt


# ---- the model card ----

def model_card(kind, model, ckpt, save, vocab_path, rule, n_pieces, n_extra, folder):
    c, args, name = model.config, ckpt.get("args") or {}, os.path.basename(folder)
    what = {"pretrain": "pretrained with span masking, the masked-LM and the span boundary objective (SBO), no NSP",
            "classifier": f"fine-tuned on NSMC sentiment ({ckpt.get('pooling')} pooling and a linear layer)",
            "qa": "fine-tuned on KorQuAD 1.0 extractive question answering"}[kind]
    auto = {"pretrain": "AutoModelForMaskedLM", "classifier": "AutoModel", "qa": "AutoModelForQuestionAnswering"}[kind]
    example = {"pretrain": 'logits = model(**tok("한국의 수도는 [MASK]이다.", return_tensors="pt")).logits',
               "classifier": 'h = model(**tok(["재밌어요"], return_tensors="pt")).last_hidden_state',
               "qa": 'out = model(**tok("질문", "문맥", return_tensors="pt"))  # .start_logits, .end_logits'}[kind]
    lines = ["---", "language: ko", "library_name: transformers", *(["pipeline_tag: fill-mask"] if kind == "pretrain" else []),
             "---", "", f"# SpanBERT (Korean): {name}", "",
             f"A BERT encoder {what}, exported from `{os.path.basename(save)}` by the SpanBERT-for-Korean repo's "
             "`export.py`, whose tests check that transformers reproduces the repo's hidden states and logits to "
             "within 1e-5.", "",
             "## How to load", "", "With transformers 4.42 or later, offline:", "", "```python",
             f"from transformers import {auto}, AutoTokenizer",
             f'tok, model = AutoTokenizer.from_pretrained("{name}"), {auto}.from_pretrained("{name}")', example, "```", ""]
    if kind == "classifier":
        pool = {"cls": "h[:, 0]", "mean": "(h * m).sum(1) / m.sum(1)",
                "max": 'h.masked_fill(m == 0, float("-inf")).max(1).values'}
        lines += ["The NSMC head is not BERT's sequence classifier (that adds a pooler, dense + tanh on [CLS], "
                  "which this model lacks). Rebuild it from `classifier.safetensors`, with "
                  '`m = batch["attention_mask"].unsqueeze(-1)`:', "", "```python",
                  f'head = safetensors.torch.load_file("{name}/classifier.safetensors")',
                  f"pooled = {pool[ckpt['pooling']]}    # this model's {ckpt['pooling']} pooling",
                  'logits = pooled @ head["weight"].T + head["bias"]    # negative, positive', "```", "",
                  "The other poolings over real tokens: " + ", ".join(f"{k} `{v}`" for k, v in pool.items()) + ".", ""]
    lines += ["`AutoModel` (BertModel) adds a pooler that was never trained: transformers initializes it at random and "
              "warns; use `last_hidden_state`, not `pooler_output`.", "",
              "## Model", "", "| | |", "|---|---|",
              f"| layers × hidden × heads | {c.n_layer} × {c.d_hidn} × {c.n_head} |", f"| feed-forward | {c.d_ff} |",
              f"| positions, segment types | {c.n_enc_seq}, {c.n_seg_type} |",
              f"| encoder parameters | {sum(p.numel() for p in model.encoder.parameters()) / 1e6:.1f} M |",
              f"| blocks | post-LN, embedding LayerNorm (eps {c.layer_norm_epsilon:g}), exact (erf) GELU |", "",
              "## Vocab and tokenizer", "",
              f"SentencePiece BPE `{os.path.basename(vocab_path)}`, {n_pieces:,} pieces, the 7 specials first "
              "([PAD]=0 [UNK]=1 [BOS]=2 [EOS]=3 [SEP]=4 [CLS]=5 [MASK]=6), normalized with "
              f"`{rule}` (NFKC{' and case folding' if rule.endswith('_cf') else ''}). "
              "`tokenizer.json` gives SentencePiece's ids in `[CLS] text [SEP]` (pairs: `[CLS] a [SEP] b [SEP]`, segment 1 "
              "from b on), and finds [SEP] [CLS] [MASK] typed in the text, as SentencePiece does. To do that it holds "
              f"{n_extra} more entries (ids {n_pieces} on) that only assemble those three inside the tokenizer and never "
              "appear in its output; the model's vocab_size counts them too (zero embeddings, MLM bias -1e4, so never "
              "predicted), as `DataCollatorForLanguageModeling` draws random ids below `len(tokenizer)`. Keep "
              "`split_special_tokens` on (this folder's default).", ""]
    flags = " ".join(f"--{k} {args[k]}" for k in ("epoch", "batch", "lr", "warmup", "weight_decay", "max_steps", "sbo_weight",
                                                 "pooling", "freeze", "n_seq", "doc_stride", "max_train", "seed") if k in args)
    budget = (f"{ckpt['step']:,} steps" if "step" in ckpt else
              f"kept after epoch {ckpt['epoch']}, the best on validation" if ckpt.get("epoch") is not None else "see the flags")
    data = args.get("input") or args.get("train")
    about = {"pretrain": "span-masked text from data.py; the repo pretrains on Korean Wikipedia",
             "classifier": "NSMC training reviews", "qa": "KorQuAD-format training questions"}[kind]
    lines += ["## Training", "", *([f"- data: `{os.path.basename(str(data))}` ({about})"] if data else []),
              f"- budget: {budget}" + (f" (`{flags}`)" if flags else "")]
    if kind != "pretrain":
        lines.append(f"- initialized from `{os.path.basename(str(args['pretrain']))}`" if args.get("pretrain")
                     else "- initialized at random (no pretraining)")
    if ckpt.get("provenance"):
        lines.append("- code: " + ", ".join(f"{k} {v}" for k, v in ckpt["provenance"].items() if v))
    if kind == "pretrain":
        lines.append("- the SBO head, which BERT has no place for, is in `sbo_head.safetensors` (names as in the repo's "
                     "model.SpanBoundaryHead; its decoder weight is the word-embedding matrix)")
    results = [f"{k} {ckpt[k]:.4f}" if k.endswith("acc") else f"{k} {ckpt[k]:.2f}"
               for k in ("val_acc", "test_acc", "val_em", "val_f1", "test_em", "test_f1") if isinstance(ckpt.get(k), (int, float))]
    if results:
        lines += ["", "## Results", "", ("NSMC accuracy: " if kind == "classifier" else
                                        "KorQuAD 1.0 exact match and F1 (%), on the repo's split of the dev file: ") + ", ".join(results)]
    lines += ["", "## Intended use", "",
              "Research on Korean encoders: features, fine-tuning, masked-token prediction. A small model on a research "
              "budget, not evaluated for bias or safety; not for decisions about people.", "",
              "## Data licenses", "", "The weights derive from the data they were trained on; follow its terms when you "
              "share them:", "",
              *(f"- {line}" for line in DATA_LICENSES), ""]
    return "\n".join(lines)


# ---- the folder ----

def check_out(out, force):
    """Refuse early: an existing --out is replaced only with --force, and only if export.py wrote it."""
    if os.path.lexists(out):
        if not os.path.isdir(out):
            raise UserError(f"{out}: exists and is not a folder")
        if not force:
            raise UserError(f"{out}: exists; pass --force to replace it")
        if os.listdir(out) and not os.path.isfile(os.path.join(out, "config.json")):
            raise UserError(f"{out}: not a folder written by export.py (no config.json); refusing to replace it")
    ensure_folder(out)


@contextmanager
def staged_folder(out):
    """A temporary folder beside `out`, renamed to `out` only when the block succeeds (replacing an old
    export), so an interrupted export never leaves a partial folder under the final name."""
    parent = os.path.dirname(os.path.abspath(out))
    tmp = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(out)}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; give the folder the mode mkdir would
    try:
        yield tmp
        if os.path.isdir(out):  # --force: the old export steps aside, and comes back if the new one cannot
            os.rename(out, tmp + ".old")
            try:
                os.rename(tmp, out)
            except BaseException:
                os.rename(tmp + ".old", out)
                raise
            shutil.rmtree(tmp + ".old")
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv=None):
    p = Parser(__doc__)
    p.add_argument("--save", required=True, help="checkpoint from pretrain.py, train.py or qa.py")
    p.add_argument("--vocab", default="data/kowiki.model", help="the SentencePiece model it was trained with (default: %(default)s)")
    p.add_argument("--out", required=True, help="folder to write; must not exist unless --force")
    p.add_argument("--force", action="store_true", help="replace --out if it holds an earlier export")
    args = p.parse_args(argv)
    try:
        from safetensors.torch import save
        import tokenizers  # noqa: F401  (build_tokenizer imports it; fail here, with one line)
    except ImportError:
        raise UserError("export.py needs safetensors and tokenizers: pip install -r requirements-hf.txt")
    out = os.path.normpath(args.out)
    check_out(out, args.force)
    sp = load_vocab(args.vocab)
    kind, model, ckpt = read_checkpoint(args.save, sp.get_piece_size(), args.vocab)
    pieces, charsmap, rule = read_spm(sp, args.vocab)
    files = tokenizer_files(pieces, charsmap, model.config.n_enc_seq)
    n_extra = len(json.loads(files["tokenizer.json"])["model"]["vocab"]) - len(pieces)  # the assembling pieces
    files["config.json"] = json.dumps(bert_config(kind, model.config, n_extra), indent=2)
    files["README.md"] = model_card(kind, model, ckpt, args.save, args.vocab, rule, len(pieces), n_extra, out)
    weights, extra = export_weights(kind, model, n_extra)
    meta = {"format": "pt"} | ({"pooling": ckpt["pooling"]} if kind == "classifier" else {})
    with staged_folder(out) as tmp:
        for name, text in files.items():
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(text + "\n")
        for name, tensors in {"model.safetensors": weights, **extra}.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(save(tensors, metadata=meta))
    print(f"wrote {out}: {ARCH[kind]}" + (f" + {', '.join(extra)}" if extra else "") + f", tokenizer of {len(pieces):,} pieces")


if __name__ == "__main__":
    run_main(main)
