"""SpanBERT model (Joshi et al. 2019, https://arxiv.org/abs/1907.10529): a BERT encoder,
the masked-LM head, the span boundary objective (SBO) head, a sentence classifier and an
extractive question-answering head.

Shapes: B batch, T sequence length, D d_hidn, H n_head, K d_head, V vocab, N masked targets.
"""
import dataclasses
import json
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    """Model hyper-parameters; the key names are the original repo's."""
    n_enc_vocab: int        # 0 in the files: set from the vocab at run time
    n_enc_seq: int          # size of the position table: the longest sequence the model accepts
    n_seg_type: int
    n_layer: int
    d_hidn: int
    i_pad: int
    d_ff: int
    n_head: int
    d_head: int
    dropout: float
    layer_norm_epsilon: float
    n_output: int           # classes of the classifier
    n_span_pos: int         # SBO position-in-span embeddings; later positions share the last

    @classmethod
    def load(cls, path, **overrides):
        """Read a JSON config; a missing or unknown key or a wrong type is a ValueError naming it."""
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        except FileNotFoundError:
            raise ValueError(f"{path}: config file not found")
        except IsADirectoryError:
            raise ValueError(f"{path}: is a folder, not a config file")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})")
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})")
        return cls.from_dict(raw, path, **overrides)

    @classmethod
    def from_dict(cls, raw, source="config", **overrides):
        if not isinstance(raw, dict):
            raise ValueError(f"{source}: expected a JSON object")
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - set(fields))
        missing = sorted(set(fields) - set(raw))
        if unknown:
            raise ValueError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(fields)})")
        if missing:
            raise ValueError(f"{source}: missing key {missing[0]!r}")
        raw = {**raw, **overrides}
        for key, kind in fields.items():
            allowed = (int, float) if kind is float else int
            if not isinstance(raw[key], allowed) or isinstance(raw[key], bool):
                raise ValueError(f"{source}: key {key!r} must be {kind.__name__}, got {raw[key]!r}")
        config = cls(**raw)
        for key in ("n_enc_seq", "n_seg_type", "n_layer", "d_hidn", "d_ff", "n_head", "d_head", "n_span_pos"):
            if getattr(config, key) <= 0:
                raise ValueError(f"{source}: {key} is {getattr(config, key)}; it must be positive")
        if config.n_enc_vocab < 0:
            raise ValueError(f"{source}: n_enc_vocab is {config.n_enc_vocab}; use 0 (set from the vocab) or the vocab's size")
        if not 0 <= config.dropout < 1:
            raise ValueError(f"{source}: dropout is {config.dropout}; it must be in [0, 1)")
        if not 0 < config.layer_norm_epsilon < 1:
            raise ValueError(f"{source}: layer_norm_epsilon is {config.layer_norm_epsilon}; it must be in (0, 1)")
        if config.n_output < 2:
            raise ValueError(f"{source}: n_output is {config.n_output}; a classifier needs at least 2 classes")
        if config.i_pad != 0:  # data.py and vocab.py put [PAD] at id 0; another id would let padding be attended
            raise ValueError(f"{source}: i_pad is {config.i_pad}, but the vocab's [PAD] id is 0")
        return config

    def to_dict(self):
        return dataclasses.asdict(self)


def dropout(x, p, training):
    """Inverted dropout. On CPU the keep-mask comes from 15-bit integers, four per 64-bit random
    draw: about 3× faster than F.dropout's per-element float draws, which take a fifth of a small
    model's CPU training step. Drop rate round(p·2^15)/2^15 (0.10001 for p=0.1). GPUs use F.dropout."""
    if not training or p == 0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    n = x.numel()
    bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_().view(torch.int16)[:n] & 0x7FFF
    return x * (bits >= round(p * 32768)).view(x.shape) * (1 / (1 - p))


class Embeddings(nn.Module):
    """Token + learned position + segment embeddings, then LayerNorm and dropout (BERT)."""

    def __init__(self, c):
        super().__init__()
        self.tok = nn.Embedding(c.n_enc_vocab, c.d_hidn)
        self.pos = nn.Embedding(c.n_enc_seq, c.d_hidn)
        self.seg = nn.Embedding(c.n_seg_type, c.d_hidn)
        self.norm = nn.LayerNorm(c.d_hidn, eps=c.layer_norm_epsilon)
        self.p = c.dropout

    def forward(self, tokens, segments=None):
        T = tokens.shape[1]
        x = self.tok(tokens) + self.pos.weight[:T]  # (B, T, D)
        x = x + (self.seg.weight[0] if segments is None else self.seg(segments))
        return dropout(self.norm(x), self.p, self.training)


class Attention(nn.Module):
    """Multi-head self-attention through scaled_dot_product_attention (flash / memory-efficient
    kernels where available); padded keys are masked out, no attention probabilities are kept."""

    def __init__(self, c):
        super().__init__()
        self.n_head, self.d_head, self.p = c.n_head, c.d_head, c.dropout
        self.qkv = nn.Linear(c.d_hidn, 3 * c.n_head * c.d_head)  # one fused projection for Q, K, V
        self.out = nn.Linear(c.n_head * c.d_head, c.d_hidn)

    def forward(self, x, key_mask):
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, self.d_head).permute(2, 0, 3, 1, 4)  # 3 × (B, H, T, K)
        if self.training and self.p > 0 and x.device.type == "cpu":
            # with dropout, SDPA on CPU takes its math path anyway; written out, the attention
            # probabilities get the faster dropout above
            att = (q @ k.transpose(-2, -1) * self.d_head ** -0.5).masked_fill(~key_mask, float("-inf"))  # (B, H, T, T)
            y = dropout(att.softmax(-1), self.p, True) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, dropout_p=self.p if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(B, T, self.n_head * self.d_head))


class FeedForward(nn.Module):
    """Position-wise Linear → GELU → Linear."""

    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c.d_hidn, c.d_ff)
        self.fc2 = nn.Linear(c.d_ff, c.d_hidn)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Post-LN Transformer block, as in BERT: x = LN(x + drop(sublayer(x)))."""

    def __init__(self, c):
        super().__init__()
        self.attn, self.ff = Attention(c), FeedForward(c)
        self.norm1 = nn.LayerNorm(c.d_hidn, eps=c.layer_norm_epsilon)
        self.norm2 = nn.LayerNorm(c.d_hidn, eps=c.layer_norm_epsilon)
        self.p = c.dropout

    def forward(self, x, key_mask):
        x = self.norm1(x + dropout(self.attn(x, key_mask), self.p, self.training))
        return self.norm2(x + dropout(self.ff(x), self.p, self.training))


class Encoder(nn.Module):
    """Embeddings and n_layer blocks; returns the hidden states (B, T, D)."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.embed = Embeddings(c)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layer))

    def forward(self, tokens, segments=None):
        key_mask = (tokens != self.config.i_pad)[:, None, None, :]  # (B, 1, 1, T): True = attend
        x = self.embed(tokens, segments)
        for block in self.blocks:
            x = block(x, key_mask)
        return x


class Decoder(nn.Module):
    """Output projection to the vocab, its weight tied to the token embedding, with its own bias."""

    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding
        self.bias = nn.Parameter(torch.zeros(embedding.num_embeddings))

    def forward(self, h):
        return F.linear(h, self.embedding.weight, self.bias)  # (N, V)


class MLMHead(nn.Module):
    """Masked-LM head: dense → GELU → LayerNorm → tied decoder, on the masked positions only."""

    def __init__(self, c, embedding):
        super().__init__()
        self.dense = nn.Linear(c.d_hidn, c.d_hidn)
        self.norm = nn.LayerNorm(c.d_hidn, eps=c.layer_norm_epsilon)
        self.decoder = Decoder(embedding)

    def forward(self, h):  # (N, D) → (N, V)
        return self.decoder(self.norm(F.gelu(self.dense(h))))


class SpanBoundaryHead(nn.Module):
    """SBO head (paper eq. 1-2): y_i = f([x_{s-1}; x_{e+1}; p_{i-s+1}]), f = 2 × (Linear, GELU,
    LayerNorm), then the tied decoder; predicts a span token from its boundaries and position."""

    def __init__(self, c, embedding):
        super().__init__()
        self.n_pos = c.n_span_pos
        self.pos = nn.Embedding(c.n_span_pos, c.d_hidn)
        self.fc1 = nn.Linear(3 * c.d_hidn, c.d_hidn)
        self.norm1 = nn.LayerNorm(c.d_hidn, eps=c.layer_norm_epsilon)
        self.fc2 = nn.Linear(c.d_hidn, c.d_hidn)
        self.norm2 = nn.LayerNorm(c.d_hidn, eps=c.layer_norm_epsilon)
        self.decoder = Decoder(embedding)

    def forward(self, h_left, h_right, span_pos):  # (N, D), (N, D), (N,) → (N, V)
        p = self.pos(span_pos.clamp(max=self.n_pos - 1))
        x = self.norm1(F.gelu(self.fc1(torch.cat([h_left, h_right, p], dim=-1))))  # (N, 3D) → (N, D)
        x = self.norm2(F.gelu(self.fc2(x)))
        return self.decoder(x)


class SpanQA(nn.Module):
    """Encoder + a linear start/end head, as BERT's SQuAD model: start and end logits per token."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.encoder = Encoder(c)
        self.head = nn.Linear(c.d_hidn, 2)
        init_weights(self)

    def forward(self, tokens, segments):
        """tokens, segments (B, T) → start and end logits (B, T), float32, padding at -inf."""
        logits = self.head(self.encoder(tokens, segments)).float()      # (B, T, 2)
        logits = logits.masked_fill((tokens == self.config.i_pad).unsqueeze(-1), float("-inf"))
        return logits[..., 0], logits[..., 1]


def init_weights(module):
    """BERT init: normal(0, 0.02) weights, zero biases, unit LayerNorm."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class SpanBERT(nn.Module):
    """Encoder + MLM and SBO heads for pretraining (no next-sentence prediction, as in the paper)."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.encoder = Encoder(c)
        self.mlm = MLMHead(c, self.encoder.embed.tok)
        self.sbo = SpanBoundaryHead(c, self.encoder.embed.tok)
        init_weights(self)

    def logits(self, tokens, row, mask_idx, span_left, span_right, span_pos, sbo=True):
        """tokens (B, T); the rest (N,): batch row, position, boundaries and in-span position of
        each target. Returns the MLM and SBO logits (N, V) of the targets only (SBO None if not sbo)."""
        h = self.encoder(tokens)                                    # (B, T, D)
        logits_mlm = self.mlm(h[row, mask_idx])                     # (N, V): only masked positions
        return logits_mlm, self.sbo(h[row, span_left], h[row, span_right], span_pos) if sbo else None

    def forward(self, tokens, row, mask_idx, mask_label, span_left, span_right, span_pos, sbo=True):
        """Returns the summed cross-entropies (loss_mlm, loss_sbo) against mask_label (N,): the
        caller divides by the number of targets in the whole (possibly multi-rank) batch. With
        sbo=False the SBO head is not run and its loss is a constant 0."""
        logits_mlm, logits_sbo = self.logits(tokens, row, mask_idx, span_left, span_right, span_pos, sbo)
        loss_mlm = F.cross_entropy(logits_mlm.float(), mask_label, reduction="sum")
        if not sbo:
            return loss_mlm, torch.zeros_like(loss_mlm.detach())
        return loss_mlm, F.cross_entropy(logits_sbo.float(), mask_label, reduction="sum")

    def freeze_sbo(self):
        """MLM only: the SBO head's own weights get no gradient (the tied embedding still trains)."""
        for name, p in self.sbo.named_parameters():
            if not name.startswith("decoder.embedding."):
                p.requires_grad_(False)
        return self


class Classifier(nn.Module):
    """Encoder + pooling + linear layer. Pooling 'cls' takes the [CLS] state; 'mean' and 'max'
    pool over the real tokens only (the original repo pooled over padding too)."""

    def __init__(self, c, pooling="cls"):
        super().__init__()
        if pooling not in ("cls", "mean", "max"):
            raise ValueError(f"unknown pooling {pooling!r}")
        self.config, self.pooling, self.frozen = c, pooling, False
        self.encoder = Encoder(c)
        self.head = nn.Linear(c.d_hidn, c.n_output)
        init_weights(self)

    def freeze_encoder(self):
        """Linear probe: only the head trains, on fixed features (no dropout inside the encoder)."""
        self.frozen = True
        self.encoder.requires_grad_(False)
        return self.train(self.training)

    def train(self, mode=True):
        super().train(mode)
        if self.frozen:
            self.encoder.eval()
        return self

    def pool(self, h, tokens):
        """(B, T, D) → (B, D)"""
        if self.pooling == "cls":
            return h[:, 0]
        real = (tokens != self.config.i_pad).unsqueeze(-1)         # (B, T, 1)
        if self.pooling == "mean":
            return (h * real).sum(1) / real.sum(1).clamp(min=1)
        return h.masked_fill(~real, float("-inf")).max(1).values

    def forward(self, tokens):
        pooled = dropout(self.pool(self.encoder(tokens), tokens), self.config.dropout, self.training)
        return self.head(pooled)  # (B, n_output)
