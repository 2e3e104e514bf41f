"""Model checks against independent references: plain softmax attention, hand-written pooling,
the SBO equations, shipped config sizes, and a tiny overfit run."""
import json
import math

import pytest
import torch
import torch.nn.functional as F

from model import Attention, Classifier, Config, Encoder, SpanBERT, init_weights

ROOT = __import__("conftest").REPO


def small_config(**kw):
    c = dict(n_enc_vocab=50, n_enc_seq=32, n_seg_type=2, n_layer=2, d_hidn=32, i_pad=0, d_ff=64, n_head=4,
             d_head=8, dropout=0.0, layer_norm_epsilon=1e-12, n_output=2, n_span_pos=8)
    c.update(kw)
    return Config(**c)


def padded_batch(lengths, T, vocab=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(7, vocab, (len(lengths), T), generator=g)
    for i, n in enumerate(lengths):
        tokens[i, n:] = 0
    return tokens


def reference_attention(attn, x, tokens):
    """Softmax(QK^T/sqrt(d) with padded keys at -inf) V, written out by hand."""
    B, T, _ = x.shape
    H, K = attn.n_head, attn.d_head
    q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).split(H * K, dim=-1)
    q, k, v = (t.reshape(B, T, H, K).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(K)                      # (B, H, T, T)
    scores = scores.masked_fill((tokens == 0)[:, None, None, :], float("-inf"))
    y = torch.softmax(scores, dim=-1) @ v
    return y.transpose(1, 2).reshape(B, T, H * K) @ attn.out.weight.T + attn.out.bias


def test_sdpa_attention_matches_plain_softmax_on_padded_batch():
    torch.manual_seed(0)
    c = small_config()
    attn = Attention(c).eval()
    init_weights(attn)
    tokens = padded_batch([12, 5, 1, 12], 12)
    x = torch.randn(4, 12, c.d_hidn)
    got = attn(x, (tokens != 0)[:, None, None, :])
    want = reference_attention(attn, x, tokens)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_block_is_post_ln_bert_block():
    """x1 = LN(x + Attn(x)); y = LN(x1 + W2 GELU(W1 x1)), as in BERT (dropout off)."""
    from model import Block
    torch.manual_seed(0)
    c = small_config()
    block = Block(c).eval()
    init_weights(block)
    for norm in (block.norm1, block.norm2):  # non-trivial LayerNorm parameters
        torch.nn.init.normal_(norm.weight, 1.0, 0.1)
        torch.nn.init.normal_(norm.bias, 0.0, 0.1)
    tokens = padded_batch([7, 4], 7)
    x = torch.randn(2, 7, c.d_hidn)
    ln = lambda t, n: F.layer_norm(t, (c.d_hidn,), n.weight, n.bias, 1e-12)
    x1 = ln(x + reference_attention(block.attn, x, tokens), block.norm1)
    ff = F.gelu(x1 @ block.ff.fc1.weight.T + block.ff.fc1.bias) @ block.ff.fc2.weight.T + block.ff.fc2.bias
    want = ln(x1 + ff, block.norm2)
    assert torch.allclose(block(x, (tokens != 0)[:, None, None, :]), want, atol=1e-5)


def test_cpu_training_attention_path_matches_reference():
    """Training on CPU with dropout takes the written-out path; with a drop rate that rounds to
    zero it must equal the plain softmax reference too."""
    torch.manual_seed(0)
    attn = Attention(small_config(dropout=1e-9)).train()
    init_weights(attn)
    tokens = padded_batch([12, 5, 1, 12], 12)
    x = torch.randn(4, 12, 32)
    got = attn(x, (tokens != 0)[:, None, None, :])
    assert torch.allclose(got, reference_attention(attn, x, tokens), atol=1e-5)


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_dropout_rate_scale_and_gradient(p):
    from model import dropout
    torch.manual_seed(0)
    x = torch.full((1000, 1001), 2.0, requires_grad=True)   # odd size: not a multiple of four
    y = dropout(x, p, True)
    kept = y != 0
    n = kept.numel()
    assert abs((1 - kept.float().mean().item()) - p) < 4 * (p * (1 - p) / n) ** 0.5 + 1e-4
    assert torch.allclose(y[kept], torch.tensor(2.0 / (1 - p)))     # inverted dropout keeps the mean
    y.sum().backward()
    assert torch.equal(x.grad, kept.float() / (1 - p))
    assert dropout(x, p, False) is x and dropout(x, 0.0, True) is x
    cols = dropout(torch.ones(20000, 8), p, True).ne(0).float().mean(0)   # none of the 4 packed lanes is biased
    assert torch.all((cols - (1 - p)).abs() < 4 * (p * (1 - p) / 20000) ** 0.5)


def test_encoder_ignores_padding():
    """A sequence's states are the same alone and padded inside a batch."""
    torch.manual_seed(0)
    enc = Encoder(small_config()).eval()
    init_weights(enc)
    tokens = padded_batch([9, 4, 7], 9)
    batch = enc(tokens)
    for i, n in enumerate([9, 4, 7]):
        alone = enc(tokens[i:i + 1, :n])
        assert torch.allclose(batch[i, :n], alone[0], atol=1e-5)


@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
def test_pooling_ignores_padding(pooling):
    torch.manual_seed(0)
    clf = Classifier(small_config(), pooling).eval()
    tokens = padded_batch([6, 3, 1], 6)
    h = torch.randn(3, 6, 32)
    pooled = clf.pool(h, tokens)
    h2 = h.clone()
    h2[tokens == 0] = 1e4 * torch.randn_like(h2[tokens == 0])   # change only the pad states
    assert torch.equal(pooled, clf.pool(h2, tokens))
    for i, n in enumerate([6, 3, 1]):
        want = {"cls": h[i, 0], "mean": h[i, :n].mean(0), "max": h[i, :n].max(0).values}[pooling]
        assert torch.allclose(pooled[i], want, atol=1e-6)


def test_classifier_logits_do_not_depend_on_padding():
    torch.manual_seed(0)
    clf = Classifier(small_config(), "mean").eval()
    tokens = padded_batch([8, 3], 8)
    both = clf(tokens)
    assert torch.allclose(both[1], clf(tokens[1:, :3])[0], atol=1e-5)


def test_frozen_encoder_is_a_linear_probe():
    """--freeze: in training mode the encoder runs without dropout and gets no gradient; the head
    sees max-pooled fixed features, so its gradient is the plain logistic-regression one."""
    torch.manual_seed(0)
    clf = Classifier(small_config(dropout=0.5), "max").freeze_encoder()
    assert clf.training and not clf.encoder.training
    tokens, y = padded_batch([8, 5, 3], 8), torch.tensor([0, 1, 1])
    assert torch.equal(clf.encoder(tokens), clf.encoder(tokens))       # dropout 0.5, yet none while training
    clf.config.dropout = 0.0  # head dropout off only to compare with the hand-written gradient below
    F.cross_entropy(clf(tokens), y).backward()
    assert all(p.grad is None for p in clf.encoder.parameters())
    with torch.no_grad():
        feats = clf.encoder(tokens).masked_fill((tokens == 0).unsqueeze(-1), float("-inf")).max(1).values
        p = torch.softmax(feats @ clf.head.weight.T + clf.head.bias, -1)
    err = (p - F.one_hot(y, 2)) / len(y)                                  # d(mean CE)/d(logits)
    assert torch.allclose(clf.head.weight.grad, err.T @ feats, atol=1e-6)
    assert torch.allclose(clf.head.bias.grad, err.sum(0), atol=1e-6)


def test_heads_shapes_tying_and_sbo_equation():
    torch.manual_seed(0)
    c = small_config()
    m = SpanBERT(c).eval()
    emb = m.encoder.embed.tok.weight
    assert m.mlm.decoder.embedding.weight is emb and m.sbo.decoder.embedding.weight is emb
    N = 5
    h_l, h_r, pos = torch.randn(N, c.d_hidn), torch.randn(N, c.d_hidn), torch.tensor([0, 1, 2, 7, 30])
    got = m.sbo(h_l, h_r, pos)
    assert got.shape == (N, c.n_enc_vocab)
    s = m.sbo  # paper eq. (1)-(2), position clipped to the table
    p = s.pos.weight[pos.clamp(max=c.n_span_pos - 1)]
    x = F.layer_norm(F.gelu(torch.cat([h_l, h_r, p], -1) @ s.fc1.weight.T + s.fc1.bias), (c.d_hidn,),
                     s.norm1.weight, s.norm1.bias, 1e-12)
    x = F.layer_norm(F.gelu(x @ s.fc2.weight.T + s.fc2.bias), (c.d_hidn,), s.norm2.weight, s.norm2.bias, 1e-12)
    assert torch.allclose(got, x @ emb.T + s.decoder.bias, atol=1e-5)
    assert m.mlm(torch.randn(N, c.d_hidn)).shape == (N, c.n_enc_vocab)


def test_bert_init():
    m = SpanBERT(Config.load(f"{ROOT}/config_tiny.json", n_enc_vocab=8007))
    w = m.encoder.blocks[0].ff.fc1.weight
    assert abs(w.std().item() - 0.02) < 0.001 and abs(w.mean().item()) < 0.001
    assert torch.all(m.encoder.blocks[0].ff.fc1.bias == 0)


def test_losses_fall_on_tiny_overfit_batch():
    torch.manual_seed(0)
    c = small_config()
    m = SpanBERT(c)
    tokens = padded_batch([16, 12, 16, 10], 16)
    row = torch.tensor([0, 0, 1, 2, 2, 3])
    idx = torch.tensor([3, 4, 5, 8, 9, 2])
    label = tokens[row, idx].clone()
    tokens[row, idx] = 6  # [MASK]
    batch = dict(tokens=tokens, row=row, mask_idx=idx, mask_label=label, span_left=idx - 1 - (idx % 2),
                 span_right=idx + 1, span_pos=idx % 2)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        mlm, sbo = m(**batch)
        first = first or (mlm.item(), sbo.item())
        opt.zero_grad()
        (mlm + sbo).backward()
        opt.step()
    assert mlm.item() < 0.2 * first[0] and sbo.item() < 0.2 * first[1], (first, mlm.item(), sbo.item())


def test_shipped_configs_keep_original_sizes():
    want = {"config.json": (12, 768, 3072, 12), "config_half.json": (12, 384, 1536, 6)}
    for name, dims in want.items():
        c = Config.load(f"{ROOT}/{name}")
        assert (c.n_layer, c.d_hidn, c.d_ff, c.n_head) == dims
        assert c.n_head * c.d_head == c.d_hidn
    tiny = Config.load(f"{ROOT}/config_tiny.json")
    assert tiny.n_layer <= 4 and tiny.d_hidn <= 256


def test_config_errors_name_the_key(tmp_path):
    good = json.load(open(f"{ROOT}/config_tiny.json"))
    cases = [({**good, "n_layers": 3}, "unknown key 'n_layers'"),
             ({k: v for k, v in good.items() if k != "d_ff"}, "missing key 'd_ff'"),
             ({**good, "n_head": "4"}, "key 'n_head' must be int"),
             ({**good, "dropout": True}, "key 'dropout' must be float")]
    for raw, message in cases:
        path = tmp_path / "c.json"
        path.write_text(json.dumps(raw))
        with pytest.raises(ValueError, match=message):
            Config.load(str(path))
