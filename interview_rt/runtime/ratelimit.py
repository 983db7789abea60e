"""Rate limits: token buckets, in Redis when REDIS_URL is set (shared by every process), in memory
otherwise (the embedded default is one process).

A bucket holds at most `burst` tokens and refills at `per_second`; each hit takes one, and a hit on
an empty bucket is refused with the seconds until a token is back. The rules (settings.RATE_LIMITS,
each overridable as RATE_LIMIT_<NAME>="burst/per_second"):

- `socket_frame`: frames on one socket (in memory: a socket lives in one process);
- `socket_connect_token`: connects with one interview token;
- `socket_connect_ip`, `public_ip`: socket connects and public REST requests from one address;
- `login_ip`: staff password checks (Basic auth, admin login) from one address: each costs a
  deliberately slow hash.

If Redis fails, limits are not enforced (logged): refusing every candidate because the limiter's
store is down would turn an outage of a safety net into an outage of the service.

Not the ASGI libraries' limiters: they cover HTTP requests, not frames and connects of sockets,
and a bucket is a dozen lines of Lua. Not `limits`: it has windows, not token buckets
(docs/architecture.md, "Written here, not taken from a library").
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

# KEYS[1]: the bucket; ARGV: burst, per_second. Redis's clock, so every process agrees.
LUA = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


@dataclass(frozen=True)
class Rule:
    burst: int
    per_second: float

    @classmethod
    def parse(cls, text: str) -> Rule:
        burst, rate = text.split("/")
        rule = cls(int(burst), float(rate))
        if rule.burst < 1 or rule.per_second <= 0:
            raise ValueError(f"bad rate limit {text!r}: burst >= 1 and per_second > 0")
        return rule


def rule(name: str) -> Rule:
    return Rule.parse(settings.RATE_LIMITS[name])


class TokenBucket:
    """One bucket in memory (a socket's frames)."""

    def __init__(self, limit: Rule) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.ts = time.monotonic()

    def take(self) -> float | None:
        """None if allowed, else the seconds until a token is back."""
        now = time.monotonic()
        self.tokens = min(self.limit.burst, self.tokens + (now - self.ts) * self.limit.per_second)
        self.ts = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.limit.per_second


def _key(name: str, key: str) -> str:
    # Hashed: a token must not be a Redis key either (keys show up in MONITOR and dumps).
    return f"{settings.RATE_LIMIT_PREFIX}:{name}:{hashlib.sha256(key.encode('utf-8', 'replace')).hexdigest()[:32]}"


class Limiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memory: dict[str, TokenBucket] = {}
        self._sync: Any = None
        # One async client per event loop (they belong to the loop that made them).
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._warned = 0.0

    @property
    def enabled(self) -> bool:
        return bool(settings.RATE_LIMITS_ENABLED)

    def reset(self) -> None:
        with self._lock:
            self._memory.clear()

    def _in_memory(self, name: str, key: str) -> float | None:
        with self._lock:
            if len(self._memory) > 50_000:  # forget idle buckets (a full bucket is no bucket)
                self._memory = {k: b for k, b in self._memory.items() if b.tokens < b.limit.burst}
            bucket = self._memory.get(f"{name}:{key}")
            if bucket is None:
                bucket = self._memory[f"{name}:{key}"] = TokenBucket(rule(name))
            return bucket.take()

    def _redis_failed(self, exc: Exception) -> None:
        if time.monotonic() - self._warned > 30:
            self._warned = time.monotonic()
            log.warning("rate limits not enforced: Redis unavailable (%s: %s)", type(exc).__name__, exc)

    def hit(self, name: str, key: str) -> float | None:
        """Take a token (sync code): None if allowed, else seconds to wait."""
        if not self.enabled:
            return None
        if not settings.REDIS_URL:
            return self._in_memory(name, key)
        import redis

        limit = rule(name)
        try:
            if self._sync is None:
                client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
                self._sync = client.register_script(LUA)
            wait = float(self._sync(keys=[_key(name, key)], args=[limit.burst, limit.per_second]))
        except Exception as exc:
            self._redis_failed(exc)
            return None
        return wait or None

    async def ahit(self, name: str, key: str) -> float | None:
        """Take a token (async code): None if allowed, else seconds to wait."""
        if not self.enabled:
            return None
        if not settings.REDIS_URL:
            return self._in_memory(name, key)
        import redis.asyncio

        limit = rule(name)
        loop = asyncio.get_running_loop()
        try:
            script = self._async.get(loop)
            if script is None:
                client = redis.asyncio.Redis.from_url(
                    settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
                )
                script = self._async[loop] = client.register_script(LUA)
            wait = float(await script(keys=[_key(name, key)], args=[limit.burst, limit.per_second]))
        except Exception as exc:
            self._redis_failed(exc)
            return None
        return wait or None


limiter = Limiter()
