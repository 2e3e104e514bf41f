"""export.py: the transformers folder against this repo's own model and tokenizer.

Checkpoints of each kind get random weights with every parameter perturbed (a swapped LayerNorm or a
lost bias would show), are exported, and loaded back with transformers, offline:
hidden states, MLM, QA and classifier logits must agree within 1e-5. The tokenizer must give
SentencePiece's ids on all 50,000 NSMC test reviews and 2,000 Korean Wikipedia lines. It differs
from SentencePiece only on input that real text does not hold (checked below on every code point of
the BMP after a letter, and every jamo after a syllable):
- the noncharacters U+FDD4-U+FDD6 and U+FDDF, which it uses internally ([SEP] [CLS] [MASK] and a guard);
- a letter and a combining mark that SentencePiece's table maps its own way: U+0344 after a letter,
  U+0307 after I, U+0345 after alpha. NFC, which rebuilds the syllables of jamo typed apart, composes
  these differently.
"""
import json
import os

import pytest
import torch

from conftest import KOWIKI, NSMC_TEST, REPO, needs_data, one_line_error, run_script

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the exported folders must load without the network
pytest.importorskip("transformers")
pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")
from safetensors import safe_open                                       # noqa: E402
from safetensors.torch import load_file                                 # noqa: E402
from transformers import (AutoModel, AutoModelForMaskedLM, AutoModelForQuestionAnswering,  # noqa: E402
                          AutoTokenizer, pipeline)

import export                                                          # noqa: E402
from cli import load_vocab, UserError                                   # noqa: E402
from data import encode_reviews, read_nsmc                              # noqa: E402
from model import Classifier, Config, SpanBERT, SpanBoundaryHead, SpanQA  # noqa: E402
from squad import pad                                                   # noqa: E402

pytestmark = needs_data
CLS, SEP, MASK = 5, 4, 6
MASKED = ["한국의 수도는 [MASK]이다.", "이 영화 정말 [MASK] 재밌어요 ㅋㅋ", "[MASK]는 1392년에 세워졌다.",
          "배우들의 연기가 너무 [MASK]."]
REVIEWS = ["재밌어요", "배우들 연기가 너무 좋았고 스토리도 탄탄했다. 강추!!", "ㅋㅋㅋ 시간 아깝다", ""]


def small(vocab_size, **over):
    return Config(**{**dict(n_enc_vocab=vocab_size, n_enc_seq=128, n_seg_type=2, n_layer=2, d_hidn=32, i_pad=0, d_ff=64,
                            n_head=4, d_head=8, dropout=0.1, layer_norm_epsilon=1e-12, n_output=2, n_span_pos=32), **over})


def perturbed(model, seed):
    """BERT's init leaves LayerNorms at 1/0 and biases at 0; noise on everything makes each one count."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def save(path, model, **items):
    """A checkpoint in the format pretrain.py, train.py or qa.py writes."""
    torch.save({"model": model.state_dict(), "config": model.config.to_dict(), "vocab_size": model.config.n_enc_vocab,
                "args": {"epoch": 1, "batch": 8, "lr": 1e-4, "seed": 0}, **items}, path)
    return str(path)


def run_export(ckpt, vocab, out, *extra, ok=True):
    """export.py as a user runs it."""
    return run_script("export.py", "--save", ckpt, "--vocab", vocab, "--out", str(out), *extra, ok=ok)


def export_here(ckpt, vocab, out, *extra):
    """The same in this process, without a second start of Python and torch."""
    export.main(["--save", ckpt, "--vocab", vocab, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def sp(artifacts):
    return load_vocab(artifacts["vocab"])


@pytest.fixture(scope="module")
def exported(artifacts, sp, tmp_path_factory):
    """{name: (our model, its exported folder)} for each kind of checkpoint, and config_tiny.json's dims."""
    d, V = tmp_path_factory.mktemp("export"), sp.get_piece_size()
    with open(os.path.join(REPO, "config_tiny.json")) as f:
        tiny = Config.from_dict(json.load(f), n_enc_vocab=V)
    models = {"pretrain": (perturbed(SpanBERT(small(V)), 0), dict(step=10, provenance={"git": "abc1234"})),
              "tiny": (perturbed(SpanBERT(tiny), 1), dict(step=10)),
              "classifier": (perturbed(Classifier(small(V), "max"), 2),
                             dict(pooling="max", val_acc=0.8, test_acc=0.79, epoch=1)),
              "qa": (perturbed(SpanQA(small(V)), 3), dict(task="qa", val_f1=50.0, test_f1=49.0, val_em=40.0, test_em=39.0))}
    out = {}
    for name, (model, items) in models.items():
        export_here(save(d / f"{name}.pth", model, **items), artifacts["vocab"], d / f"{name}-hf")
        out[name] = model, str(d / f"{name}-hf")
    return out


# ---- the model ----

@pytest.mark.parametrize("name", ["pretrain", "tiny"])
def test_hidden_states_and_mlm_logits_match_ours(exported, name):
    model, folder = exported[name]
    tok = AutoTokenizer.from_pretrained(folder)
    b = tok(MASKED, padding=True, return_tensors="pt")
    assert (b["input_ids"] == 0).any() and (b["input_ids"] == MASK).sum() == len(MASKED)
    mlm, info = AutoModelForMaskedLM.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert mlm.config.vocab_size == len(tok)                            # the tokenizer's assembling pieces included
    V = model.config.n_enc_vocab
    with torch.no_grad():
        ours = model.encoder(b["input_ids"])                            # padding masked from the ids, as in training
        theirs = AutoModel.from_pretrained(folder)(**b).last_hidden_state  # … and from the attention mask here
        real, at = b["attention_mask"].bool(), b["input_ids"] == MASK
        assert (theirs - ours)[real].abs().max() <= 1e-5
        logits = mlm(**b).logits[at]
        assert (logits[:, :V] - model.mlm(ours[at])).abs().max() <= 1e-5
        assert (logits[:, V:] < -1000).all()                            # never predicted …
        mlm(input_ids=torch.tensor([[CLS, len(tok) - 1, SEP]]))         # … but valid: a collator's random ids


def test_sbo_head_is_kept_beside_the_model(exported):
    model, folder = exported["pretrain"]
    sbo = SpanBoundaryHead(model.config, model.encoder.embed.tok)      # its decoder: the word embeddings
    sbo.load_state_dict({**load_file(os.path.join(folder, "sbo_head.safetensors")),
                         "decoder.embedding.weight": model.encoder.embed.tok.weight})
    for name, tensor in model.sbo.state_dict().items():
        assert torch.equal(sbo.state_dict()[name], tensor), name


def test_qa_start_and_end_logits_match_with_segments(exported, sp):
    model, folder = exported["qa"]
    questions, contexts = ["한국의 수도는 어디인가?", "감독은 누구?"], ["대한민국의 수도는 서울이다. 서울은 한강을 끼고 있다.", "봉준호 감독의 영화"]
    b = AutoTokenizer.from_pretrained(folder)(questions, contexts, padding=True, return_tensors="pt")
    feats = [{"tokens": [CLS] + sp.encode(q) + [SEP] + sp.encode(c) + [SEP], "segment_start": len(sp.encode(q)) + 2}
             for q, c in zip(questions, contexts)]
    tokens, segments = (torch.from_numpy(x) for x in pad(feats, [0, 1]))  # qa.py's layout
    assert torch.equal(b["input_ids"], tokens) and torch.equal(b["token_type_ids"], segments)
    with torch.no_grad():
        start, end = model(tokens, segments)
        out = AutoModelForQuestionAnswering.from_pretrained(folder)(**b)
    real = b["attention_mask"].bool()
    assert (out.start_logits - start)[real].abs().max() <= 1e-5 and (out.end_logits - end)[real].abs().max() <= 1e-5


@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
def test_classifier_rebuilt_as_the_model_card_says_matches_ours(exported, pooling):
    trained, folder = exported["classifier"]                           # saved with max; the weights fit any pooling
    ours = Classifier(trained.config, pooling)
    ours.load_state_dict(trained.state_dict())
    b = AutoTokenizer.from_pretrained(folder)(REVIEWS, padding=True, return_tensors="pt")
    head = load_file(os.path.join(folder, "classifier.safetensors"))
    with torch.no_grad():
        h, m = AutoModel.from_pretrained(folder)(**b).last_hidden_state, b["attention_mask"].unsqueeze(-1)
        pooled = {"cls": h[:, 0], "mean": (h * m).sum(1) / m.sum(1),
                  "max": h.masked_fill(m == 0, float("-inf")).max(1).values}[pooling]
        logits = pooled @ head["weight"].T + head["bias"]
        assert (logits - ours.eval()(b["input_ids"])).abs().max() <= 1e-5
    with open(os.path.join(folder, "config.json")) as f:
        assert json.load(f)["architectures"] == ["BertModel"]          # not BertForSequenceClassification: its pooler
    with safe_open(os.path.join(folder, "classifier.safetensors"), "pt") as f:
        assert f.metadata()["pooling"] == "max"
    with open(os.path.join(folder, "README.md"), encoding="utf-8") as f:
        card = f.read()
    assert "test_acc 0.7900" in card and "CC BY-SA" in card and "AutoModel.from_pretrained" in card


def test_fill_mask_pipeline_gives_our_top5(exported, sp):
    model, folder = exported["pretrain"]
    fill = pipeline("fill-mask", model=folder)
    for text in MASKED:
        ids = torch.tensor([[CLS] + sp.encode(text) + [SEP]])
        with torch.no_grad():
            ours = model.mlm(model.encoder(ids)[ids == MASK]).topk(5).indices[0].tolist()
        assert [r["token"] for r in fill(text, top_k=5)] == ours, text


# ---- the tokenizer ----

def test_tokenizer_matches_sentencepiece_on_nsmc_and_kowiki(exported, sp):
    tok = AutoTokenizer.from_pretrained(exported["pretrain"][1])
    docs, _ = read_nsmc(NSMC_TEST)
    with open(KOWIKI, encoding="utf-8") as f:  # lines after the 4,000 the vocab saw: more characters it lacks
        wiki = [line for i, line in enumerate(f) if i >= 4000 and line.strip()][:2000]
    for texts in (docs, wiki):
        ours = encode_reviews(sp, texts, max_len=1 << 30)              # [CLS] pieces [SEP], as train.py feeds them
        theirs = tok(texts)["input_ids"]
        assert len(texts) in (50_000, 2_000)
        assert [i for i in range(len(texts)) if ours[i] != theirs[i]] == []
        # decoding gives SentencePiece's normalized text (NFKC, lower case, single spaces), except that
        # SentencePiece writes an unknown piece as " ⁇ " and transformers as "[UNK]"
        known = [ids for ids in ours if 1 not in ids]
        unknown = [ids[1:-1] for ids in ours if 1 in ids]
        assert tok.batch_decode(known, skip_special_tokens=True) == sp.decode([ids[1:-1] for ids in known])
        assert tok.batch_decode(unknown) == [text.replace(" \u2047 ", "[UNK]") for text in sp.decode(unknown)]
        assert unknown


EDGES = ["한국의 수도는 [MASK]이다.", "[MASK]는", "[MASK]", "a [SEP] b", "a[CLS]b", "[[SEP]]", "x [PAD] y", "[UNK]", "[mask]",
         "[ＭＡＳＫ]", "", " ", "  두  칸   띄움  ", "\t탭\n줄바꿈\r\n", "ㄷㅏ 닼ㅋㅠㅠ", "니ㄵ 화ㄳ", "\u1103\u1161\u11af",
         "Ａ\u0300 À Ồ", "～～ ﬁ ①", "😀😀 abc 👍🏻", "x\u200by\u200dz", "▁밑줄", "ＡＢＣ"]


def test_tokenizer_matches_sentencepiece_on_edge_cases(exported, sp):
    """Specials typed in text (SentencePiece finds [SEP] [CLS] [MASK] anywhere, never [PAD] [UNK]),
    whitespace, jamo typed apart, combining marks after letters the normalization changes."""
    tok = AutoTokenizer.from_pretrained(exported["pretrain"][1])
    assert tok(EDGES)["input_ids"] == [[CLS] + ids + [SEP] for ids in sp.encode(EDGES)]
    pair = tok("질문", "문맥 [MASK]")
    assert pair["token_type_ids"] == [0] * (len(sp.encode("질문")) + 2) + [1] * (len(sp.encode("문맥 [MASK]")) + 1)


def test_tokenizer_differs_only_on_the_documented_classes(exported, sp):
    """Every code point of the Basic Multilingual Plane after a letter the normalization changes ("A"),
    and every jamo after a Hangul syllable."""
    tok = AutoTokenizer.from_pretrained(exported["pretrain"][1])
    every = [chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c < 0xE000]
    jamo = [chr(c) for r in ((0x1100, 0x1200), (0x3130, 0x3190), (0xA960, 0xA980), (0xD7B0, 0xD800), (0xFFA0, 0xFFE0))
            for c in range(*r)]
    for base, chars in (("A", every), ("가", jamo)):                  # after a syllable: the final-consonant guard
        texts = [base + c + "b" for c in chars]
        theirs = tok(texts, add_special_tokens=False)["input_ids"]
        differ = {ord(c) for c, ours, t in zip(chars, sp.encode(texts), theirs) if ours != t}
        assert differ <= {0x0344, 0xFDD4, 0xFDD5, 0xFDD6, 0xFDDF}, sorted(map(hex, differ))
    assert tok("a\ufdd6b", add_special_tokens=False)["input_ids"][1] == MASK  # a stand-in typed in the text


# ---- the command line ----

def test_force_replaces_an_earlier_export(exported, artifacts, tmp_path):
    model, _ = exported["qa"]
    out = tmp_path / "x-hf"
    out.mkdir()
    (out / "config.json").write_text("{}")                             # an earlier export
    run_export(save(tmp_path / "qa.pth", model, task="qa"), artifacts["vocab"], out, "--force")
    with open(out / "config.json") as f:
        assert json.load(f)["architectures"] == ["BertForQuestionAnswering"]
    assert sorted(os.listdir(tmp_path)) == ["qa.pth", "x-hf"]         # no temporary folder left beside it


@pytest.mark.parametrize("case", ["not_ours", "vocab_size", "exists"])
def test_user_error(artifacts, sp, tmp_path, case):
    V, out = sp.get_piece_size(), tmp_path / "out-hf"
    ckpt, needle = {
        "not_ours": (str(tmp_path / "x.pth"), "not a checkpoint of pretrain.py, train.py or qa.py"),
        "vocab_size": (save(tmp_path / "big.pth", SpanBERT(small(V + 5)), step=1), f"vocab of {V + 5} pieces"),
        "exists": (save(tmp_path / "ok.pth", SpanBERT(small(V)), step=1), "exists; pass --force"),
    }[case]
    if case == "not_ours":
        torch.save({"x": 1}, ckpt)
    if case == "exists":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    before = sorted(os.listdir(tmp_path))
    one_line_error(run_export(ckpt, artifacts["vocab"], out, ok=False), needle)
    assert sorted(os.listdir(tmp_path)) == before                     # nothing written, no temporary folder
    if case == "exists":
        assert os.listdir(out) == ["notes.txt"]


def test_refuses_heads_bert_cannot_express_and_folders_it_did_not_write(artifacts, sp, tmp_path):
    V, out = sp.get_piece_size(), tmp_path / "out-hf"
    with pytest.raises(UserError, match="cannot express"):            # 4 heads × 4 ≠ 32
        export_here(save(tmp_path / "heads.pth", SpanBERT(small(V, d_head=4)), step=1), artifacts["vocab"], out)
    assert not out.exists()
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a folder written by export.py"):
        export_here(save(tmp_path / "ok.pth", SpanBERT(small(V)), step=1), artifacts["vocab"], out, "--force")
    assert os.listdir(out) == ["notes.txt"] and sorted(os.listdir(tmp_path)) == ["heads.pth", "ok.pth", "out-hf"]
