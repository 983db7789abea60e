"""The in-memory token bucket (a socket's frames and integrity signals): a burst, then a steady refill,
and a refusal that says how long until the next token."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from consumers.candidate import SIGNALS
from interview_rt.runtime import ratelimit
from interview_rt.runtime.ratelimit import TokenBucket


def test_a_bucket_allows_its_burst_then_refills_at_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: now[0]))
    bucket = TokenBucket(SIGNALS)  # 20 at once, then 5 a second
    assert [bucket.take() for _ in range(20)] == [None] * 20
    assert bucket.take() == pytest.approx(0.2)
    now[0] += 0.1
    assert bucket.take() == pytest.approx(0.1)  # half a token back, still refused
    now[0] += 0.15
    assert bucket.take() is None
    now[0] += 3600  # an idle bucket fills up to its burst, no further
    assert [bucket.take() for _ in range(21)].count(None) == 20
