"""The consent and AI notice reaches every client: the access and start responses and the socket's
snapshot carry it (version, text, what it covers) until it is accepted; a deployment and a job
may each have their own, versioned by its text; a session keeps the version it accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import AsyncClient

from interview_rt.interviews import notices
from interview_rt.interviews.constants import CONSENT_NOTICE, CONSENT_NOTICE_VERSION
from interview_rt.interviews.models import AIInterviewSession, Job

from .consumers.helpers import Candidate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("model_free_ai", "background_work_settles"),
]

JOB_TEXT = "Interviews for this role are graded by an AI model; a recruiter at Acme decides."


async def access(token: str) -> dict[str, Any]:
    response = await AsyncClient().get(f"/api/interviews/access/{token}/")
    assert response.status_code == 200, response.content
    return dict(response.json())


async def test_rest_and_socket_carry_the_default_notice_until_it_is_accepted(amake_invitation: Any) -> None:
    _, token = await amake_invitation(consent_required=True)
    opened = await access(token)
    assert opened["notice"] == {
        "version": CONSENT_NOTICE_VERSION,
        "text": CONSENT_NOTICE,
        "covers": list(notices.COVERS),
    }
    c = Candidate(token)
    snapshot = await c.connect()
    assert snapshot["session"]["awaiting"] == "consent"
    assert snapshot["session"]["notice"]["version"] == CONSENT_NOTICE_VERSION
    await c.send({"type": "consent.accept", "notice_version": CONSENT_NOTICE_VERSION})
    await c.recv("consent.recorded")
    await c.send({"type": "session.sync"})
    assert "notice" not in (await c.recv("session.state"))["session"]
    assert (await access(token))["notice"] is None
    await c.close()


async def test_a_job_notice_is_its_own_version_and_earlier_consents_keep_theirs(amake_invitation: Any) -> None:
    first_inv, first = await amake_invitation(consent_required=True)
    c = Candidate(first)
    await c.connect()
    await c.send({"type": "consent.accept", "notice_version": CONSENT_NOTICE_VERSION})
    await c.recv("consent.recorded")
    await c.close()
    await Job.objects.filter(pk=first_inv.job_id).aupdate(consent_notice=JOB_TEXT)
    second_inv, second = await amake_invitation(consent_required=True)
    assert second_inv.job_id == first_inv.job_id  # same job, now with its own notice
    notice = (await access(second))["notice"]
    assert notice["text"] == JOB_TEXT and notice["version"].startswith("job-")
    c = Candidate(second)
    snapshot = await c.connect()
    assert snapshot["session"]["notice"] == notice
    await c.send({"type": "consent.accept", "notice_version": CONSENT_NOTICE_VERSION})  # the old one
    refused = await c.recv("error")
    assert refused["code"] == "consent_outdated" and refused["field"] == "notice_version"
    await c.send({"type": "consent.accept", "notice_version": notice["version"]})
    await c.recv("consent.recorded")
    await c.close()
    versions = {
        s.invitation_id: s.consent_version
        async for s in AIInterviewSession.objects.filter(invitation__job_id=first_inv.job_id)
    }
    assert versions == {first_inv.pk: CONSENT_NOTICE_VERSION, second_inv.pk: notice["version"]}
    # A new text is a new version; the same text, the same version.
    assert notices.notice_for(Job(consent_notice=JOB_TEXT + " Updated.")).version != notice["version"]
    assert notices.notice_for(Job(consent_notice=JOB_TEXT)).version == notice["version"]


async def test_the_deployment_notice_and_rest_start(amake_invitation: Any, settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text("Our own notice for every interview here.\n", encoding="utf-8")
    settings.CONSENT_NOTICE_FILE = str(path)
    _, token = await amake_invitation(consent_required=True)
    notice = (await access(token))["notice"]
    assert notice["text"] == "Our own notice for every interview here." and notice["version"].startswith("site-")
    page = await AsyncClient().get(f"/interview/{token}")
    assert notice["version"] in page.content.decode() and notice["text"] in page.content.decode()
    started = await AsyncClient().post(
        "/api/ai-interview/start/",
        {"token": token, "notice_version": notice["version"]},
        content_type="application/json",
    )
    assert started.status_code == 200, started.content
    assert started.json()["notice"] is None  # accepted with the start
    notices._from_file.cache_clear()
