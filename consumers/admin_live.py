"""The staff socket `ws/admin/live/`: a snapshot of live sessions, then the staff feed; `watch` a
session for its transcript and the candidate's drafts; live actions.

Thin, like the candidate socket: it authenticates, calls selectors and services through the
runtime's staff lane (after every candidate call) and delivers each session's feed frames in that
session's `seq` order, once, filling a gap from the feed log. Every socket hears every feed frame
(one group) and keeps those of the jobs its user may see.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

from interview_rt.interviews import access, payloads, schemas, selectors, services
from interview_rt.interviews.constants import Permission
from interview_rt.interviews.errors import (
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_PERMISSION_DENIED,
    ErrorCode,
    InterviewError,
)
from interview_rt.interviews.events import STAFF_GROUP, watch_group
from interview_rt.runtime import staff_db

from .base import Consumer
from .protocol import STAFF_IDS, error_frame, handler_name, ids_of, parse_staff

log = logging.getLogger(__name__)

SUBPROTOCOL = "interview-rt.staff"
TOKEN_PREFIX = "token."
# Channel messages a staff socket handles in one go when they are already queued.
DISPATCH_BURST = 100


_reads: dict[tuple[int, str], asyncio.Task[dict[str, Any]]] = {}


async def _shared_transcript(sid: str) -> dict[str, Any]:
    """The session's transcript, read once for the callers waiting at the same time; each gets
    its own copy (it folds its own later frames into it)."""
    loop = asyncio.get_running_loop()
    key = (id(loop), sid)
    task = _reads.get(key)
    if task is None:

        async def read() -> dict[str, Any]:
            return await staff_db(selectors.transcript_of)(session_id=sid)

        task = loop.create_task(read())
        _reads[key] = task
        task.add_done_callback(lambda _: _reads.pop(key, None))
    return copy.deepcopy(await asyncio.shield(task))


def _token_of(scope: dict[str, Any]) -> str | None:
    """An API token from `?token=`, a `token.<key>` subprotocol, or `Authorization: Token <key>`."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    for proto in scope.get("subprotocols") or ():
        if proto.startswith(TOKEN_PREFIX):
            return proto[len(TOKEN_PREFIX) :]
    for name, value in scope.get("headers") or ():
        if name.lower() == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() == "token" and key.strip():
                return key.strip()
    return None


def _has_origin(scope: dict[str, Any]) -> bool:
    return any(name.lower() == b"origin" and value for name, value in scope.get("headers") or ())


def _user_for_token(key: str) -> Any:
    token = Token.objects.select_related("user").filter(key=key[:40]).first()
    return token.user if token is not None and token.user.is_active else None


def _staff_user(user: Any) -> tuple[Any, dict[str, str], set[int] | None]:
    """The user's role and the jobs they see, or a refusal: in one trip to the staff lane."""
    role = access.role_of(user)
    if role is None:
        raise InterviewError(ErrorCode.PERMISSION_DENIED, "This account has no staff role.")
    return user, {"username": user.get_username(), "role": role.value}, access.visible_job_ids(user)


class AdminLiveConsumer(Consumer):
    user: Any = None
    jobs: set[int] | None = None  # None: every job
    hidden: set[int]
    sent: dict[str, int]  # per session, the last feed seq this socket sent
    watching: set[str]
    opening: set[str]  # sessions whose transcript is being read
    tasks: set[asyncio.Task[None]]

    async def connect(self) -> None:
        self.hidden, self.sent, self.watching, self.opening, self.tasks = set(), {}, set(), set(), set()
        offered = self.scope.get("subprotocols") or []
        # Accept first (browsers only see 44xx codes on an accepted socket), choosing our
        # subprotocol when the client offered it, never echoing a token.
        await self.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)
        try:
            self.user, who, self.jobs = await self._authenticate()
        except InterviewError as exc:
            await self.send_json(error_frame(exc.code, exc.message))
            code = CLOSE_NOT_AUTHENTICATED if exc.code == ErrorCode.NOT_AUTHENTICATED else CLOSE_PERMISSION_DENIED
            await self.close(code=code)
            return
        # Join before the snapshot: a frame committed meanwhile waits in the channel and is
        # delivered after it, or skipped if the snapshot already includes it.
        await self.channel_layer.group_add(STAFF_GROUP, self.channel_name)
        await self._snapshot(who)

    async def _authenticate(self) -> tuple[Any, dict[str, str], set[int] | None]:
        key = _token_of(self.scope)
        if key is not None:
            user = await staff_db(_user_for_token)(key)
            if user is None:
                raise InterviewError(ErrorCode.NOT_AUTHENTICATED, "That API token is not valid.")
        else:
            user = self.scope.get("user") or AnonymousUser()
            if not user.is_authenticated:
                raise InterviewError(ErrorCode.NOT_AUTHENTICATED, "Log in as staff, or send an API token.")
            # A cookie is sent by the browser on any site's behalf: only our pages may use it
            # (the outer validator already refused a foreign Origin; here a missing one).
            if not _has_origin(self.scope):
                raise InterviewError(ErrorCode.PERMISSION_DENIED, "A session cookie needs an allowed Origin.")
        return await staff_db(_staff_user)(user)

    async def _snapshot(self, who: dict[str, str] | None = None) -> None:
        if who is None:
            _, who, self.jobs = await staff_db(_staff_user)(self.user)
            self.hidden.clear()
        sessions = await staff_db(selectors.feed_snapshot)(user=self.user)
        for row in sessions:
            self.sent[row["id"]] = max(self.sent.get(row["id"], 0), row["feed_seq"])
        await self.send_json({"type": "feed.snapshot", "user": who, "sessions": sessions})

    async def dispatch(self, message: dict[str, Any]) -> None:
        await super().dispatch(message)
        # Each message through channels' receive loop costs a few event-loop turns; a staff socket
        # hears every session's feed, and in a burst its queue grew faster than it drained (bench:
        # an answer's frame waited 80-200 ms). After a channel message (none is being received on
        # the channel meanwhile), take what is already queued now, in order.
        take = getattr(self.channel_layer, "receive_nowait", None)
        if take is None or message["type"].startswith("websocket."):
            return
        for _ in range(DISPATCH_BURST):
            queued = take(self.channel_name)
            if queued is None:
                return
            await super().dispatch(queued)

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        if self.user is None:
            return
        await self.channel_layer.group_discard(STAFF_GROUP, self.channel_name)
        for session_id in self.watching:
            await self.channel_layer.group_discard(watch_group(session_id), self.channel_name)

    # --- inbound -------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self.user is None:
            return
        if text_data is None:
            await self.send_json(error_frame(ErrorCode.BINARY_NOT_SUPPORTED, "Only JSON text frames are accepted."))
            return
        frame: Any = None
        try:
            frame = parse_staff(text_data)
            await getattr(self, handler_name(frame.type))(frame)
        except InterviewError as exc:
            await self.send_json(self._error(exc, frame, text_data))
        except Exception:
            log.exception("unexpected error handling a staff frame")
            failed = InterviewError(ErrorCode.INTERNAL_ERROR, "Something went wrong.")
            await self.send_json(self._error(failed, frame, text_data))

    @staticmethod
    def _error(exc: InterviewError, frame: Any, text: str = "") -> dict[str, Any]:
        extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
        if frame is not None:
            extra["ref"] = frame.ref
            if getattr(frame, "session_id", None):
                extra["session_id"] = frame.session_id
        else:  # refused before it parsed: the ids as sent
            extra.update(ids_of(text, STAFF_IDS))
        return error_frame(exc.code, exc.message, **extra)

    async def on_ping(self, frame: schemas.StaffPing) -> None:
        await self.send_json({"type": "pong", "ref": frame.ref})

    async def on_feed_sync(self, frame: schemas.FeedSync) -> None:
        await self._snapshot()

    async def on_feed_resume(self, frame: schemas.FeedResume) -> None:
        await staff_db(access.session_for)(self.user, frame.session_id, Permission.VIEW)
        frames = await staff_db(selectors.feed_frames_after)(session_id=frame.session_id, seq=frame.last_seq)
        for logged in frames:
            await self.send_json(logged)
            self.sent[logged["session_id"]] = max(self.sent.get(logged["session_id"], 0), logged["seq"])

    async def on_watch(self, frame: schemas.Watch) -> None:
        sid = str(uuid.UUID(frame.session_id))
        if sid in self.opening:
            return
        # Each watched session is a group membership and a stream of drafts: bounded per socket.
        limit = settings.STAFF_MAX_WATCHED
        if sid not in self.watching and len(self.watching) + len(self.opening) >= limit:
            raise InterviewError(ErrorCode.RATE_LIMITED, f"Watch at most {limit} sessions; unwatch one first.")
        # Read in a task, not awaited here: a consumer handles one message at a time, and the
        # feed of every session (this one included) must keep flowing while the read waits its
        # turn on the staff lane.
        self.opening.add(sid)
        task = asyncio.get_running_loop().create_task(self._open_watch(sid, frame))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _open_watch(self, sid: str, frame: schemas.Watch) -> None:
        # Join first so no draft typed while the transcript is read is missed.
        await self.channel_layer.group_add(watch_group(sid), self.channel_name)
        try:
            if self.jobs is None:
                # Sees every job: one read shared by every admin watching this session now (a
                # burst of watches as a session opens costs one read, not one per socket).
                transcript = await _shared_transcript(sid)
            else:
                transcript = await staff_db(services.staff_transcript)(session_id=sid, user=self.user)
            # Frames this socket sent meanwhile are after the read: fold them in, so the
            # transcript covers everything sent before it.
            while self.sent.get(sid, 0) > transcript["seq"]:
                more = await staff_db(selectors.feed_frames_after)(session_id=sid, seq=transcript["seq"])
                if not more:
                    break
                payloads.fold_feed(transcript, more)
        except Exception as exc:
            self.opening.discard(sid)
            if sid not in self.watching:
                await self.channel_layer.group_discard(watch_group(sid), self.channel_name)
            if not isinstance(exc, InterviewError):
                log.exception("opening a watch of %s failed", sid)
            refusal = exc if isinstance(exc, InterviewError) else InterviewError(ErrorCode.INTERNAL_ERROR, "Try again.")
            await self.send_json(self._error(refusal, frame))
            return
        self.opening.discard(sid)
        self.watching.add(sid)
        # Frames up to the transcript's seq are in it: those still on their way are skipped.
        self.sent[sid] = max(self.sent.get(sid, 0), transcript["seq"])
        await self.send_json({"type": "watch.transcript", "session_id": sid, **transcript})

    async def on_unwatch(self, frame: schemas.Unwatch) -> None:
        sid = str(uuid.UUID(frame.session_id))
        if sid in self.watching:
            self.watching.discard(sid)
            await self.channel_layer.group_discard(watch_group(sid), self.channel_name)

    async def _act(self, frame: Any, service: Any, **kwargs: Any) -> None:
        done = await staff_db(service)(session_id=frame.session_id, actor=self.user, **kwargs)
        await self.send_json({"type": "action.accepted", "ref": frame.ref, "action": done.action})

    async def on_candidate_message(self, frame: schemas.CandidateMessage) -> None:
        await self._act(frame, services.staff_message, fields=frame)

    async def on_question_extend(self, frame: schemas.QuestionExtend) -> None:
        await self._act(frame, services.staff_extend_time, fields=frame)

    async def on_question_add(self, frame: schemas.QuestionAdd) -> None:
        await self._act(frame, services.staff_add_question, fields=frame)

    async def on_interview_end(self, frame: schemas.InterviewEnd) -> None:
        await self._act(frame, services.staff_end, fields=frame)

    # --- outbound ------------------------------------------------------------------------------

    async def _visible(self, job_id: int) -> bool:
        if self.jobs is None or job_id in self.jobs:
            return True
        if job_id in self.hidden:
            return False
        # A job created after connect (a recruiter's new invitation): ask once, remember.
        if await staff_db(access.job_visible)(self.user, job_id):
            self.jobs.add(job_id)
            return True
        self.hidden.add(job_id)
        return False

    async def _deliver(self, sid: str, seq: int, text: str) -> None:
        """Send a session's feed frame (JSON text) in that session's seq order, once; fill a gap
        from the log first."""
        last = self.sent.get(sid, 0)
        if seq <= last:
            return
        if seq > last + 1:
            missed = await staff_db(selectors.feed_frames_after)(session_id=sid, seq=last)
            for logged in missed:
                if logged["seq"] > self.sent.get(sid, 0):
                    await self.send_json(logged)
                    self.sent[sid] = logged["seq"]
            if seq <= self.sent.get(sid, 0):
                return
        await self.send(text_data=text)
        self.sent[sid] = seq

    async def staff_frames(self, message: dict[str, Any]) -> None:
        # Feed frames come in batches (the outbox coalesces a burst): one trip through this
        # consumer's queue for many frames.
        for job_id, session_id, seq, text in message["items"]:
            if await self._visible(job_id):
                await self._deliver(session_id, seq, text)

    async def staff_draft(self, message: dict[str, Any]) -> None:
        # Only watchers are in the session's watch group, and only after a permitted `watch`.
        if message["session_id"] in self.watching:
            await self.send(text_data=message["text"])
