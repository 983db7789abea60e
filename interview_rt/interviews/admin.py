from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from interview_rt.runtime import runtime

from . import services
from .models import (
    AdminAction,
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    AuditEvent,
    Candidate,
    FeedFrame,
    IntegritySignal,
    InterviewInvitation,
    Job,
    SessionFrame,
)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "created_at"]
    search_fields = ["title"]
    # Who sees the job's sessions besides its owner (recruiters, reviewers).
    filter_horizontal = ["team"]


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "created_at"]
    search_fields = ["name", "email"]
    # Self-reported groups are only ever shown in aggregate (the adverse-impact table).
    exclude = ["demographic_group", "demographic_consent_at"]


@admin.register(InterviewInvitation)
class InterviewInvitationAdmin(admin.ModelAdmin):
    list_display = ["candidate", "job", "interview_type", "difficulty", "question_count", "expires_at", "revoked"]
    list_filter = ["interview_type", "difficulty", "revoked"]
    actions = ["revoke"]

    def save_model(self, request: Any, obj: InterviewInvitation, form: Any, change: bool) -> None:
        newly_revoked = change and obj.revoked and "revoked" in form.changed_data
        super().save_model(request, obj, form, change)
        if newly_revoked:  # close the session's open sockets, as the revoke action does
            runtime.publish(services.invitation_revoke(invitation_id=obj.pk))

    @admin.action(description="Revoke the selected links (closes their open sockets)")
    def revoke(self, request: Any, queryset: Any) -> None:
        for invitation in queryset:
            runtime.publish(services.invitation_revoke(invitation_id=invitation.pk))


class QuestionInline(admin.TabularInline):
    model = AIInterviewQuestion
    extra = 0
    fields = ("order", "text", "competency", "difficulty", "asked_at")
    readonly_fields = fields


@admin.register(AIInterviewSession)
class AIInterviewSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "invitation", "status", "answered_count", "evaluated_count", "created_at"]
    list_filter = ["status"]
    inlines = [QuestionInline]


@admin.register(AIInterviewQuestion)
class AIInterviewQuestionAdmin(admin.ModelAdmin):
    list_display = ["session", "order", "competency", "difficulty"]


@admin.register(AIInterviewResponse)
class AIInterviewResponseAdmin(admin.ModelAdmin):
    list_display = ["session", "question", "score", "insufficient_evidence", "evaluation_status", "fallback_used"]
    list_filter = ["evaluation_status", "fallback_used", "insufficient_evidence", "provider"]


@admin.register(AIInterviewResult)
class AIInterviewResultAdmin(admin.ModelAdmin):
    list_display = ["session", "overall_score", "recommendation", "human_score", "final_decision", "reviewed_at"]
    list_filter = ["recommendation", "final_decision"]


@admin.register(SessionFrame)
class SessionFrameAdmin(admin.ModelAdmin):
    list_display = ["session", "seq", "type", "created_at"]
    list_filter = ["type"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Logs and history: visible to staff, changed only by the services that write them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "target_type", "target_id"]
    list_filter = ["action"]
    search_fields = ["target_id", "actor_name"]


@admin.register(AdminAction)
class AdminActionAdmin(ReadOnlyAdmin):
    list_display = ["session", "actor_name", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["actor_name"]


@admin.register(IntegritySignal)
class IntegritySignalAdmin(ReadOnlyAdmin):
    list_display = ["session", "question", "kind", "value", "created_at"]
    list_filter = ["kind"]


@admin.register(FeedFrame)
class FeedFrameAdmin(ReadOnlyAdmin):
    list_display = ["session", "seq", "type", "created_at"]
    list_filter = ["type"]
