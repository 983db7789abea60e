"""The compiled-once statements of the answer path (interview_rt/interviews/prepared.py) read and
write exactly what the ORM does for the same rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from interview_rt.interviews import rows, services
from interview_rt.interviews.models import AIInterviewQuestion, AIInterviewSession, SessionFrame
from interview_rt.interviews.prepared import Insert, Select, SelectOne, Update
from interview_rt.review import selectors
from interview_rt.review.models import Calibration

pytestmark = pytest.mark.django_db


def _fields(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _session(make_invitation: Any) -> AIInterviewSession:
    _invitation, token = make_invitation(consent_required=False)
    connection_ = services.session_connect(token=token, last_seq=None)
    return AIInterviewSession.objects.get(pk=connection_.session_id)


def test_select_one_with_related_reads_what_the_orm_reads(make_invitation: Any) -> None:
    session = _session(make_invitation)
    select = SelectOne(AIInterviewSession, related=["invitation__job", "invitation__candidate"])
    got = select.get(session.pk)
    expected = AIInterviewSession.objects.select_related("invitation__job", "invitation__candidate").get(pk=session.pk)
    assert got is not None
    assert _fields(got) == _fields(expected)
    with CaptureQueriesContext(connection) as queries:
        # The related rows came with the one statement: no query to reach them.
        assert _fields(got.invitation) == _fields(expected.invitation)  # type: ignore[attr-defined]
        assert _fields(got.invitation.job) == _fields(expected.invitation.job)  # type: ignore[attr-defined]
        assert got.invitation.candidate.name == expected.invitation.candidate.name  # type: ignore[attr-defined]
    assert len(queries) == 0
    assert select.get("00000000-0000-0000-0000-000000000000") is None


def test_select_filters_orders_and_limits_like_the_orm(make_invitation: Any) -> None:
    session = _session(make_invitation)
    for seq in range(5, 10):
        SessionFrame.objects.create(session=session, seq=seq, type="x", payload={"seq": seq, "nested": {"a": [1]}})
    got = Select(SessionFrame, ["session", "seq__gt"], order_by=["-seq"], limit=3).all(session.pk, 5)
    expected = list(SessionFrame.objects.filter(session=session, seq__gt=5).order_by("-seq")[:3])
    assert [_fields(r) for r in got] == [_fields(r) for r in expected]
    assert [r.payload["seq"] for r in got] == [9, 8, 7]  # type: ignore[attr-defined]
    assert Select(SessionFrame, ["session", "seq"]).first(session.pk, 99) is None


def test_boolean_and_json_columns_round_trip() -> None:
    Calibration.objects.create(version=1, mapping={"knots": [[0, 0], [10, 10]]}, fit_name="f", pair_count=3)
    mapping = {"knots": [[0, 1], [10, 10]]}
    active = Calibration.objects.create(version=2, mapping=mapping, fit_name="f", pair_count=3, active=True)
    got = selectors.active_calibration()
    assert got is not None and got.pk == active.pk and got.active is True
    assert got.mapping == mapping
    Calibration.objects.filter(pk=active.pk).update(active=False)
    assert selectors.active_calibration() is None


def test_insert_and_update_write_what_save_writes(make_invitation: Any) -> None:
    session = _session(make_invitation)
    now = timezone.now()
    question = AIInterviewQuestion(
        session=session,
        order=7,
        text="Why?",
        question_type="technical",
        difficulty="medium",
        key_points=["a", "b"],
        time_limit_seconds=60,
    )
    with transaction.atomic():
        Insert(AIInterviewQuestion, [f.name for f in AIInterviewQuestion._meta.concrete_fields]).run([question])
    stored = AIInterviewQuestion.objects.get(pk=question.pk)
    assert stored.key_points == ["a", "b"] and stored.order == 7 and stored.asked_at is None
    assert stored.created_at is not None  # auto_now_add filled as save() fills it
    question.asked_at = now + timedelta(seconds=1)
    question.text = "not saved"
    Update(AIInterviewQuestion, ["asked_at"]).run(question)
    stored = AIInterviewQuestion.objects.get(pk=question.pk)
    assert stored.asked_at == now + timedelta(seconds=1)
    assert stored.text == "Why?"


def test_the_session_lock_needs_a_transaction_where_the_database_locks_rows(make_invitation: Any) -> None:
    session = _session(make_invitation)
    with transaction.atomic():
        assert rows.locked(session.pk).pk == session.pk
    if connection.features.has_select_for_update:
        with pytest.raises(transaction.TransactionManagementError):
            rows.locked(session.pk)
