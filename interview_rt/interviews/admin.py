from typing import Any

from django.contrib import admin

from interview_rt.runtime import runtime

from . import services
from .models import (
    AIInterviewQuestion,
    AIInterviewResponse,
    AIInterviewResult,
    AIInterviewSession,
    Candidate,
    InterviewInvitation,
    Job,
    SessionFrame,
)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["title", "created_at"]
    search_fields = ["title"]


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "created_at"]
    search_fields = ["name", "email"]


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
