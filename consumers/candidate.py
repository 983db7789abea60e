"""One socket per candidate session: `ws/interview/<token>/`.

Thin: it parses frames, calls the interview services and delivers the session's logged frames in
`seq` order, exactly once per socket. Every pushed frame comes from the session's log, so the
socket and the log never disagree; a gap in what arrives over the group is filled from the log.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from interview_rt.interviews import events, schemas, selectors, services
from interview_rt.interviews.constants import DRAFTS_PER_SECOND
from interview_rt.interviews.errors import (
    CLOSE_RATE_LIMITED,
    CLOSE_SUPERSEDED,
    CLOSING,
    ErrorCode,
    InterviewError,
    LinkError,
    RateLimited,
)
from interview_rt.interviews.events import session_group
from interview_rt.runtime import answer_db, candidate_db, metrics, publish, runtime, waiting_db
from interview_rt.runtime.ratelimit import Rule, TokenBucket, limiter, rule

from .base import Consumer
from .protocol import Throttle, error_frame, handler_name, ids_of, parse

log = logging.getLogger(__name__)
# Integrity signals on one socket: 20 at once, then 5 a second (the bucket the socket's frames use).
SIGNALS = Rule(burst=20, per_second=5)


class CandidateConsumer(Consumer):
    session_id: str | None = None
    last_sent: int = 0
    # Set when a newer socket took this session over: leaving then is not the candidate leaving.
    superseded: bool = False
    frames: TokenBucket | None = None
    job_id: int = 0
    drafts: Throttle[dict[str, Any]] | None = None
    # Integrity signals are a few per question; more than this is a page misbehaving.
    signals: TokenBucket | None = None
    counted: bool = False
    # When the frame being handled arrived (answer -> ack timing).
    received_at: float = 0.0

    @property
    def sid(self) -> str:
        """The session id; frames are only handled once connect() has set it."""
        assert self.session_id is not None
        return self.session_id

    async def connect(self) -> None:
        # Accept first: the handshake must not wait on the database (daphne drops handshakes
        # that take longer than its connect timeout), and browsers only see 44xx close codes
        # on an accepted socket.
        await self.accept()
        metrics.WS_CONNECTED.inc()
        self.counted = True
        token = self.scope["url_route"]["kwargs"]["token"]
        wait = await self._connect_limited(token)
        if wait is not None:
            limited = RateLimited(wait, "Too many connects; reconnect after retry_after seconds.")
            await self.send_json(error_frame(limited.code, limited.message, retry_after=limited.retry_after))
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        if limiter.enabled:
            self.frames = TokenBucket(rule("socket_frame"))
        last_seq, bad_query = _last_seq(self.scope)
        try:
            connection = await candidate_db(services.session_connect)(
                token=token, last_seq=last_seq, claim_for=runtime.claimer()
            )
        except LinkError as exc:
            metrics.child(metrics.WS_CONNECTS, "refused").inc()
            await self.send_json(error_frame(exc.code, exc.message))
            await self.close(code=exc.close_code)
            return
        metrics.child(metrics.WS_CONNECTS, "ok").inc()
        self.session_id = connection.session_id
        self.job_id = connection.job_id
        self.group = session_group(self.session_id)
        self.drafts = Throttle(DRAFTS_PER_SECOND, self._relay_draft)
        self.signals = TokenBucket(SIGNALS)
        # Frames committed from here on reach this socket by the group; anything older is in
        # the snapshot or the replay, and _deliver skips what this socket already sent.
        # With the channel layer down (Redis restarting) these raise: daphne then closes the socket
        # with 1011 (the client reconnects with last_seq after a short delay; ASGI's close cannot
        # send 1011) and the log says so once per outage (interview_rt/outages.py).
        await self.channel_layer.group_add(self.group, self.channel_name)
        # A newer socket for the same session takes over; the older one is closed.
        await self.channel_layer.group_send(self.group, {"type": "session.takeover", "channel": self.channel_name})
        if bad_query is not None:
            # The socket stays usable: the client gets the snapshot and can resume explicitly.
            await self.send_json(error_frame(bad_query.code, bad_query.message, field="last_seq"))
        if connection.start_error is not None:
            await self.send_json(error_frame(connection.start_error.code, connection.start_error.message))
        await self.send_json(connection.snapshot)
        self.last_sent = connection.snapshot["seq"]
        for frame in connection.missed:
            await self.send_json(frame)
            self.last_sent = max(self.last_sent, frame["seq"])
        # A frame committed between the snapshot and group_add would be missed: catch up once
        # (ahead of new connects: this candidate is connected and waiting).
        await self._replay_from(self.last_sent, lane=waiting_db)

    async def _connect_limited(self, token: str) -> float | None:
        """Seconds to wait if this address or this token connects too often, else None."""
        client = self.scope.get("client") or ("unknown", 0)
        wait = await limiter.ahit("socket_connect_ip", str(client[0]))
        return wait if wait is not None else await limiter.ahit("socket_connect_token", token)

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            metrics.WS_CONNECTED.dec()
        if self.session_id is None:
            return
        if self.drafts is not None:
            self.drafts.cancel()
        try:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        except Exception:
            pass  # the channel layer is down; the membership expires with the group
        # A server going away (1012) is not the candidate leaving: they resume on another server.
        if not self.superseded and code != CLOSE_SUPERSEDED and not runtime.stopping:
            try:
                await candidate_db(services.session_leave)(session_id=self.session_id)
            except InterviewError:
                pass

    # --- inbound -------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self.session_id is None:
            return
        wait = self.frames.take() if self.frames is not None else None
        if wait is not None:  # the frame is dropped unread; the client may send it again later
            limited = RateLimited(wait, "Too many frames; send again after retry_after seconds.")
            extra = ids_of(text_data) if text_data is not None else {}
            await self.send_json(error_frame(limited.code, limited.message, retry_after=limited.retry_after, **extra))
            return
        if text_data is None:
            await self.send_json(error_frame(ErrorCode.BINARY_NOT_SUPPORTED, "Only JSON text frames are accepted."))
            return
        self.received_at = time.perf_counter()
        try:
            try:
                frame = parse(text_data)
            except InterviewError:
                metrics.frame_in("invalid")
                raise
            metrics.frame_in(frame.type)
            await getattr(self, handler_name(frame.type))(frame)
        except InterviewError as exc:
            extra = {"field": exc.field} if exc.field else {}
            await self.send_json(error_frame(exc.code, exc.message, **extra, **ids_of(text_data)))
            if exc.code in CLOSING:  # revoked or expired: no later frame on this socket could succeed
                await self.close(code=CLOSING[exc.code])
        except Exception:
            log.exception("unexpected error handling a frame in session %s", self.session_id)
            await self.send_json(error_frame(ErrorCode.INTERNAL_ERROR, "Something went wrong; please retry."))

    async def on_answer_submit(self, frame: schemas.AnswerSubmit) -> None:
        submitted = frame.submitted_at
        receipt = await answer_db(services.answer_submit)(
            session_id=self.sid,
            client_id=frame.client_id,
            question_id=frame.question_id,
            text=frame.text,
            response_type=frame.response_type or "text",
            submitted_at=datetime.fromtimestamp(submitted / 1000, tz=UTC) if submitted else None,
            claim_for=runtime.claimer(),
        )
        for logged in receipt.frames:
            if receipt.duplicate:
                # A repeat gets the original frames again, with their original seq.
                await self.send_json({**logged, "duplicate": True})
            else:
                # Sent now (the ack waits for no channel layer); its copy published to the session's
                # group reaches the session's other sockets, and _deliver drops it on this one.
                await self._deliver(logged)
        metrics.ANSWER_ACK.observe(time.perf_counter() - self.received_at)

    async def on_session_resume(self, frame: schemas.SessionResume) -> None:
        frames = await candidate_db(services.session_replay)(session_id=self.sid, after=frame.last_seq)
        for logged in frames:
            await self.send_json(logged)
            self.last_sent = max(self.last_sent, logged["seq"])

    async def on_session_sync(self, frame: schemas.SessionSync) -> None:
        snapshot = await candidate_db(services.session_sync)(session_id=self.sid)
        await self.send_json(snapshot)
        await self._replay_from(min(self.last_sent, snapshot["seq"]), only_new=True)

    async def on_ping(self, frame: schemas.Ping) -> None:
        await self.send_json({"type": "pong", "ref": frame.ref})

    async def on_consent_accept(self, frame: schemas.ConsentAccept) -> None:
        # consent.recorded (and the first question, if ready) arrive over the group, from the log.
        await candidate_db(services.consent_accept)(session_id=self.sid, notice_version=frame.notice_version)

    async def on_answer_draft(self, frame: schemas.AnswerDraft) -> None:
        assert self.drafts is not None
        self.drafts.offer({"question_id": frame.question_id, "text": frame.text})

    def _relay_draft(self, draft: dict[str, Any]) -> None:
        # Straight to the staff watching this session: not stored, not for this candidate.
        at = datetime.now(tz=UTC).isoformat()
        publish(
            events.draft(self.sid, self.job_id, {"type": "answer.draft", "session_id": self.sid, **draft, "at": at})
        )

    async def on_integrity_signal(self, frame: schemas.IntegritySignalIn) -> None:
        assert self.signals is not None
        if self.signals.take() is not None:
            raise InterviewError(ErrorCode.RATE_LIMITED, "Too many signals; this one was not recorded.")
        await candidate_db(services.signal_record)(
            session_id=self.sid, kind=frame.kind, value=frame.value, question_id=frame.question_id
        )

    # --- outbound ------------------------------------------------------------------------------

    async def send_json(self, content: dict[str, Any], close: bool = False) -> None:
        metrics.frame_out(str(content.get("type")))
        await super().send_json(content, close)

    async def _replay_from(self, seq: int, *, only_new: bool = False, lane: Any = candidate_db) -> None:
        frames = await lane(selectors.frames_after)(session_id=self.sid, seq=seq)
        for frame in frames:
            if only_new and frame["seq"] <= self.last_sent:
                continue
            await self.send_json(frame)
            self.last_sent = max(self.last_sent, frame["seq"])

    async def _deliver(self, frame: dict[str, Any]) -> None:
        """Send a logged frame in seq order, once: skip what was sent, fill gaps from the log."""
        seq = frame["seq"]
        if seq <= self.last_sent:
            return
        if seq > self.last_sent + 1:
            await self._replay_from(self.last_sent)
            if seq <= self.last_sent:
                return
        await self.send_json(frame)
        self.last_sent = seq

    async def session_frame(self, message: dict[str, Any]) -> None:
        await self._deliver(message["frame"])

    async def session_close(self, message: dict[str, Any]) -> None:
        """The session may no longer be used (its link was revoked): say why, then close."""
        code = message["code"]
        await self.send_json(
            error_frame(
                code,
                "This interview link was revoked." if code == ErrorCode.LINK_REVOKED else "This interview is closed.",
            )
        )
        await self.close(code=CLOSING.get(code, CLOSE_SUPERSEDED))

    async def session_takeover(self, message: dict[str, Any]) -> None:
        if message["channel"] != self.channel_name:
            self.superseded = True
            await self.send_json(error_frame(ErrorCode.SUPERSEDED, "This interview was opened in another window."))
            await self.close(code=CLOSE_SUPERSEDED)


def _last_seq(scope: dict[str, Any]) -> tuple[int | None, InterviewError | None]:
    """`?last_seq=N` of the socket URL: N, or an error to report (and no replay) when it is bad."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("last_seq")
    if not values:
        return None, None
    value = values[0]
    if value.isascii() and value.isdigit() and len(value) <= 10:
        return int(value), None
    return None, InterviewError(ErrorCode.INVALID_FIELD, "last_seq must be an integer >= 0.", field="last_seq")
