"""What a service emits: frames logged with their `seq`, staff feed frames logged with the feed's
own `seq`, drafts relayed to watching staff (never logged), and AI jobs for the background service.

A service appends frames to the session's log inside its transaction (holding the session row
lock) and returns them, with the jobs it created, in an `Emitted`. Nothing is sent from here: the
caller hands the `Emitted` (an `Envelope`, as the runtime takes it) to the server runtime's
publish step (`interview_rt.runtime`) once the service has returned, that is after its
transaction committed, so no client ever sees a frame the database could still roll back and no
worker is nudged towards a row it cannot read yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from interview_rt.runtime.outbox import Envelope, Message

from .models import AIInterviewSession, FeedFrame, SessionFrame
from .prepared import Insert

Frame = dict[str, Any]

# Every answer logs two to four frames: compiled once (prepared.py).
_INSERT_FRAME = Insert(SessionFrame, ["session", "seq", "type", "payload", "created_at"])
_INSERT_FEED = Insert(FeedFrame, ["session", "seq", "type", "payload", "created_at"])

# The kinds of AI work the background service does.
GENERATE = "generate"
EVALUATE = "evaluate"


@dataclass(frozen=True)
class Job:
    kind: str
    id: str
    # Set when the service already took the lease for a worker of this process: the job's inputs
    # (services.EvaluationJob), which the runtime hands to that worker instead of a nudge.
    claimed: Any = field(default=None, compare=False, repr=False)

    def message(self) -> dict[str, str]:
        """The nudge sent to the worker channel. The database, not this message, is the queue."""
        return {"type": "ai.job", "kind": self.kind, "id": self.id}


@dataclass(frozen=True)
class StaffFrame:
    """A staff feed frame and the job it belongs to (staff sockets show only their jobs' frames)."""

    session_id: str
    job_id: int
    frame: Frame


@dataclass
class Emitted(Envelope):
    """Frames (with the session they belong to), staff feed frames, drafts and jobs, each list in
    the order they were created."""

    frames: list[tuple[str, Frame]] = field(default_factory=list)
    staff: list[StaffFrame] = field(default_factory=list)
    # Ephemeral frames for the staff watching a session (answer drafts): not logged, no seq.
    drafts: list[StaffFrame] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    # Sessions whose sockets must close, with the error code that says why (not logged: a closed
    # socket's reconnect is refused by the same check).
    closes: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.frames or self.staff or self.drafts or self.jobs or self.closes)

    def extend(self, other: Emitted) -> Emitted:
        self.frames.extend(other.frames)
        self.staff.extend(other.staff)
        self.drafts.extend(other.drafts)
        self.jobs.extend(other.jobs)
        self.closes.extend(other.closes)
        return self

    def close(self, session_id: object, code: str) -> None:
        self.closes.append((str(session_id), str(code)))

    def job(self, kind: str, object_id: object, *, claimed: Any = None) -> None:
        self.jobs.append(Job(kind, str(object_id), claimed))

    def messages(self) -> list[Message]:
        """The channel-layer messages that carry it, in order: the session's frames, the staff
        feed, drafts to watching staff, worker nudges, socket closes."""
        out: list[Message] = [
            ("group_send", session_group(session_id), {"type": "session.frame", "frame": frame})
            for session_id, frame in self.frames
        ]
        # Staff frames travel encoded once: every staff socket sends the same text, and the channel
        # layer copies (in memory) or packs (Redis) a string, not a nested dict, per socket. A
        # batch message (only `type` and `items`): the publish step merges a burst into one.
        if self.staff:
            items = [[s.job_id, s.session_id, s.frame["seq"], json.dumps(s.frame)] for s in self.staff]
            out.append(("group_send", STAFF_GROUP, {"type": "staff.frames", "items": items}))
        out += [
            (
                "group_send",
                watch_group(d.session_id),
                {"type": "staff.draft", "session_id": d.session_id, "text": json.dumps(d.frame)},
            )
            for d in self.drafts
        ]
        out += [("send", settings.AI_WORKER_CHANNEL, job.message()) for job in self.jobs]
        out += [
            ("group_send", session_group(session_id), {"type": "session.close", "code": code})
            for session_id, code in self.closes
        ]
        return out

    def take_claimed(self) -> list[Job]:
        """Remove and return the jobs already claimed for this process's worker (not to be nudged)."""
        if not self.jobs:
            return []
        claimed = [j for j in self.jobs if j.claimed is not None]
        if claimed:
            self.jobs = [j for j in self.jobs if j.claimed is None]
        return claimed

    def of_type(self, frame_type: str) -> list[Frame]:
        return [frame for _, frame in self.frames if frame["type"] == frame_type]

    def staff_of_type(self, frame_type: str) -> list[Frame]:
        return [s.frame for s in self.staff if s.frame["type"] == frame_type]


def session_group(session_id: object) -> str:
    """The channel-layer group of one session's sockets (and REST requests waiting on it)."""
    return f"interview.{session_id}"


# Every staff socket listens on this group and keeps the frames of the jobs its user may see.
STAFF_GROUP = "staff.feed"


def watch_group(session_id: object) -> str:
    """The group of the staff sockets watching one session (drafts go only there)."""
    return f"staff.watch.{session_id}"


def feed(session: AIInterviewSession, frame_type: str, payload: dict[str, Any], out: Emitted) -> Frame:
    """Log a staff feed frame with the session's next feed seq and record it in `out`. Like
    `append`: the caller holds the session row lock and saves the row (with feed_seq)."""
    assert transaction.get_connection().in_atomic_block, "feed() must run inside a transaction"
    session.feed_seq += 1
    frame = {
        "type": frame_type,
        "seq": session.feed_seq,
        "session_id": str(session.pk),
        "at": timezone.now().isoformat(),
        **payload,
    }
    _INSERT_FEED.run([FeedFrame(session=session, seq=session.feed_seq, type=frame_type, payload=frame)])
    out.staff.append(StaffFrame(str(session.pk), session.invitation.job_id, frame))
    return frame


def draft(session_id: str, job_id: int, frame: Frame) -> Emitted:
    """An answer draft for the staff watching the session; never logged, never for the candidate."""
    return Emitted(drafts=[StaffFrame(session_id, job_id, frame)])


def append(session: AIInterviewSession, frame_type: str, payload: dict[str, Any], out: Emitted) -> Frame:
    """Log a frame with the next seq and record it in `out`. The caller holds the session row lock
    and saves the row (with its new last_seq) before its transaction ends."""
    assert transaction.get_connection().in_atomic_block, "append() must run inside a transaction"
    session.last_seq += 1
    frame = {"type": frame_type, "seq": session.last_seq, **payload}
    _INSERT_FRAME.run([SessionFrame(session=session, seq=session.last_seq, type=frame_type, payload=frame)])
    out.frames.append((str(session.pk), frame))
    return frame
