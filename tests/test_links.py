"""Signed interview links (interview_rt/interviews/links.py): every way a token can be refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import signing
from django.test import override_settings
from django.utils import timezone

from interview_rt.interviews import links
from interview_rt.interviews.errors import (
    CLOSE_LINK_EXPIRED,
    CLOSE_LINK_INVALID,
    CLOSE_LINK_REVOKED,
    CLOSE_NOT_FOUND,
    LinkError,
)
from interview_rt.interviews.models import InterviewInvitation

from .conftest import expired

pytestmark = pytest.mark.django_db

MakeInvitation = Callable[..., tuple[InterviewInvitation, str]]


def refused(token: Any, code: str, close_code: int, status: int, *, now: Any = None) -> LinkError:
    with pytest.raises(LinkError) as info:
        links.read_token(token, now=now or timezone.now())
    assert info.value.code == code
    assert info.value.close_code == close_code
    assert info.value.status == status
    assert info.value.message
    return info.value


def invalid(token: Any) -> LinkError:
    return refused(token, "link_invalid", CLOSE_LINK_INVALID, 403)


def signed(payload: Any, *, key: str | None = None, salt: str = links.SALT) -> str:
    return signing.dumps(payload, key=key or settings.INTERVIEW_LINK_SECRET, salt=salt, compress=False)


def test_round_trip(make_invitation: MakeInvitation) -> None:
    invitation, token = make_invitation()
    opened = links.read_token(token, now=timezone.now())
    assert opened.pk == invitation.pk
    assert opened.candidate.name == "Ada Lovelace" and opened.job.title == "Backend Engineer"


def test_token_is_url_safe_and_short(make_invitation: MakeInvitation) -> None:
    _, token = make_invitation()
    assert len(token) <= 512
    assert all(c.isalnum() or c in "-_:" for c in token)


def test_each_invitation_gets_its_own_token(make_invitation: MakeInvitation) -> None:
    first, token_a = make_invitation()
    second, token_b = make_invitation()
    assert token_a != token_b
    assert links.read_token(token_a, now=timezone.now()).pk == first.pk
    assert links.read_token(token_b, now=timezone.now()).pk == second.pk


def test_link_url_joins_frontend_url_and_token(make_invitation: MakeInvitation) -> None:
    _, token = make_invitation()
    with override_settings(FRONTEND_URL="https://jobs.example.com/interview"):
        assert links.link_url(token) == f"https://jobs.example.com/interview/{token}"
    with override_settings(FRONTEND_URL="https://jobs.example.com/interview/"):
        assert links.link_url(token) == f"https://jobs.example.com/interview/{token}"


# --- forged, tampered, malformed -------------------------------------------------------------------


def test_tampered_signature_is_invalid(make_invitation: MakeInvitation) -> None:
    _, token = make_invitation()
    last = token[-1]
    invalid(token[:-1] + ("A" if last != "A" else "B"))


def test_tampered_payload_is_invalid(make_invitation: MakeInvitation) -> None:
    _, token = make_invitation()
    payload, rest = token.split(":", 1)
    flipped = payload[:5] + ("x" if payload[5] != "x" else "y") + payload[6:]
    invalid(f"{flipped}:{rest}")


def test_token_signed_with_another_secret_is_invalid(make_invitation: MakeInvitation) -> None:
    _, token = make_invitation()
    with override_settings(INTERVIEW_LINK_SECRET="another-secret-entirely-0123456789abcdef"):
        invalid(token)


def test_token_made_under_another_secret_is_invalid_here(make_invitation: MakeInvitation) -> None:
    invitation, _ = make_invitation()
    with override_settings(INTERVIEW_LINK_SECRET="another-secret-entirely-0123456789abcdef"):
        foreign = links.make_token(invitation)
    invalid(foreign)


def test_token_with_another_salt_is_invalid(make_invitation: MakeInvitation) -> None:
    """A value this server signed for another purpose is not an interview link."""
    invitation, _ = make_invitation()
    payload = {"i": invitation.id.hex, "e": int(invitation.expires_at.timestamp())}
    invalid(signed(payload, salt="django.contrib.sessions"))


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "abc:def", "a:b:c", ":::", "not a token", "Ω≈ç√", "eyJpIjoiMSJ9:AAAA", "%00", "../../etc/passwd"],
)
def test_garbage_is_invalid(garbage: str) -> None:
    invalid(garbage)


@pytest.mark.parametrize("value", [None, 123, b"bytes", ["list"]])
def test_non_string_is_invalid(value: Any) -> None:
    invalid(value)


def test_too_long_token_is_invalid_without_checking_the_signature(make_invitation: MakeInvitation) -> None:
    _, token = make_invitation()
    invalid(token + "A" * (513 - len(token)))
    invalid("A" * 100_000)


@pytest.mark.parametrize(
    "payload",
    [
        {"e": 4_000_000_000},  # no invitation id
        {"i": uuid.uuid4().hex},  # no expiry
        {"i": "not-hex", "e": 4_000_000_000},
        {"i": uuid.uuid4().hex, "e": "soon"},
        {"i": uuid.uuid4().hex, "e": None},
        ["i", "e"],
        "just a string",
        42,
    ],
)
def test_signed_but_malformed_payload_is_invalid(payload: Any) -> None:
    invalid(signed(payload))


def test_cannot_point_a_token_at_another_invitation(make_invitation: MakeInvitation) -> None:
    """Swapping the payload of one token onto the signature of another, or re-encoding the payload
    with the other invitation's id, breaks the signature."""
    victim, _ = make_invitation()
    _, mine = make_invitation()
    payload_b64, timestamp_sig = mine.split(":", 1)
    data = signing.b64_decode(payload_b64.encode())
    forged_payload = data.replace(data[data.index(b'"i":"') + 5 : data.index(b'"i":"') + 37], victim.id.hex.encode())
    assert victim.id.hex.encode() in forged_payload
    forged = signing.b64_encode(forged_payload).decode() + ":" + timestamp_sig
    invalid(forged)
    # The signature of one token on the payload of another.
    victim_token = links.make_token(victim)
    invalid(victim_token.split(":", 1)[0] + ":" + timestamp_sig)


def test_read_token_names_exactly_the_signed_invitation(make_invitation: MakeInvitation) -> None:
    invitation, token = make_invitation()
    payload = signing.loads(token, key=settings.INTERVIEW_LINK_SECRET, salt=links.SALT)
    assert payload["i"] == invitation.id.hex
    assert payload["e"] == int(invitation.expires_at.timestamp())


# --- expiry, revocation, deletion --------------------------------------------------------------------


def test_expiry_inside_the_token_is_link_expired(make_invitation: MakeInvitation) -> None:
    _, token = make_invitation()
    later = timezone.now() + timedelta(days=settings.INTERVIEW_LINK_DEFAULT_DAYS, seconds=2)
    refused(token, "link_expired", CLOSE_LINK_EXPIRED, 410, now=later)


def test_token_signed_with_a_past_expiry_is_link_expired_even_if_db_says_later(make_invitation: MakeInvitation) -> None:
    invitation, _ = make_invitation()
    token = signed({"i": invitation.id.hex, "e": int((timezone.now() - timedelta(seconds=5)).timestamp())})
    refused(token, "link_expired", CLOSE_LINK_EXPIRED, 410)


def test_invitation_created_already_expired_is_link_expired(make_invitation: MakeInvitation) -> None:
    _, token = make_invitation(expires_in=timedelta(seconds=-60))
    refused(token, "link_expired", CLOSE_LINK_EXPIRED, 410)


def test_expiry_shortened_in_the_database_is_link_expired(make_invitation: MakeInvitation) -> None:
    invitation, token = make_invitation()
    expired(invitation)
    refused(token, "link_expired", CLOSE_LINK_EXPIRED, 410)


def test_link_works_until_the_instant_of_expiry(make_invitation: MakeInvitation) -> None:
    invitation, token = make_invitation()
    assert links.read_token(token, now=invitation.expires_at - timedelta(seconds=1)).pk == invitation.pk
    refused(token, "link_expired", CLOSE_LINK_EXPIRED, 410, now=invitation.expires_at)


def test_revoked_is_link_revoked(make_invitation: MakeInvitation) -> None:
    invitation, token = make_invitation()
    InterviewInvitation.objects.filter(pk=invitation.pk).update(revoked=True)
    refused(token, "link_revoked", CLOSE_LINK_REVOKED, 403)


def test_deleted_invitation_is_not_found(make_invitation: MakeInvitation) -> None:
    invitation, token = make_invitation()
    invitation.delete()
    refused(token, "not_found", CLOSE_NOT_FOUND, 404)


def test_signed_token_for_an_unknown_id_is_not_found() -> None:
    token = signed({"i": uuid.uuid4().hex, "e": int((timezone.now() + timedelta(days=1)).timestamp())})
    refused(token, "not_found", CLOSE_NOT_FOUND, 404)


def test_close_codes_are_the_documented_ones() -> None:
    assert (CLOSE_LINK_INVALID, CLOSE_LINK_REVOKED, CLOSE_NOT_FOUND, CLOSE_LINK_EXPIRED) == (4401, 4403, 4404, 4410)


def test_error_body_carries_only_code_and_message() -> None:
    error = invalid("nope")
    assert error.as_dict() == {"code": "link_invalid", "message": error.message}


@pytest.mark.parametrize("payload", [{"i": 123, "e": 4_000_000_000}, {"i": uuid.uuid4().hex, "e": float("inf")}])
def test_signed_payload_of_wrong_types_is_invalid_not_a_crash(payload: Any) -> None:
    invalid(signed(payload))


def test_invitations_share_a_job_only_with_the_same_skills(make_invitation: MakeInvitation) -> None:
    first, _ = make_invitation()
    again, _ = make_invitation()
    other, _ = make_invitation(skills=["go"])
    other_again, _ = make_invitation(skills=["go"])  # two jobs of this title now: no ambiguity
    unnamed, _ = make_invitation(skills=[])
    assert again.job_id == first.job_id and unnamed.job_id == first.job_id
    assert other.job_id != first.job_id and other_again.job_id == other.job_id
    assert other.job.required_skills == ["go"]
