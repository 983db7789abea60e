"""Staff pages (Django templates, staff login): the analytics page and a printable report per
session. Standalone on purpose: a dashboard can link to them (`/staff/analytics/`,
`/staff/sessions/<id>/report/`)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from interview_rt.interviews import selectors
from interview_rt.interviews.errors import InterviewError

from . import analytics, charts, reports


def _intervals(rows: list[dict[str, Any]], label: str, metric: str, **axis: Any) -> str:
    return charts.intervals(
        [(r[label], r[metric]["value"], r[metric]["ci_low"], r[metric]["ci_high"]) for r in rows], **axis
    )


@staff_member_required
def analytics_page(request: HttpRequest) -> HttpResponse:
    try:
        filters = reports.Filters.from_params(request.GET)
    except InterviewError as exc:
        return render(request, "interviews/staff/analytics.html", {"error": exc.message}, status=400)
    facts = reports.session_facts(filters)
    data = reports.analytics_overview(filters, facts=facts)
    ai, human = analytics.score_pairs(facts)
    per_job = [{"label": j["job"], **j["agreement"]} for j in data["jobs"]]
    per_reviewer = [{"label": r["reviewer"], **r} for r in data["agreement"]["per_reviewer"]]
    overall = [{"label": "all reviewed answers", **data["agreement"]["overall"]}]
    svg = {
        "scatter": charts.scatter(ai, human, title=f"AI vs human score ({len(ai)} reviewed answers)"),
        "pearson": _intervals(
            overall + per_job + per_reviewer,
            "label",
            "pearson",
            title="Pearson r (95% CI)",
            low=-1,
            high=1,
            reference=0,
        ),
        "qwk": _intervals(
            overall + per_job + per_reviewer,
            "label",
            "qwk",
            title="Quadratic weighted kappa (95% CI)",
            low=-1,
            high=1,
            reference=0,
        ),
        "bias": _intervals(
            overall + per_job + per_reviewer,
            "label",
            "mean_bias",
            title="Mean bias, AI minus human (95% CI)",
            low=-5,
            high=5,
            reference=0,
        ),
        "jobs": [
            charts.histogram(
                j["overall_scores"]["histogram"]["counts"],
                j["overall_scores"]["histogram"]["bin_edges"],
                title=f"{j['job']}: overall scores (n={j['overall_scores']['n']})",
            )
            for j in data["jobs"]
        ],
        "competencies": [
            charts.histogram(
                c["ai_scores"]["histogram"]["counts"],
                c["ai_scores"]["histogram"]["bin_edges"],
                title=f"{c['competency']}: AI answer scores (n={c['ai_scores']['n']})",
            )
            for c in data["competencies"]
        ],
    }
    # charts.py escapes every label it draws.
    safe = {k: [mark_safe(x) for x in v] if isinstance(v, list) else mark_safe(v) for k, v in svg.items()}
    jobs = sorted({f.job for f in facts})
    return render(
        request,
        "interviews/staff/analytics.html",
        {"data": data, "svg": safe, "filters": filters, "jobs": jobs, "min_group": analytics.MIN_GROUP_SIZE},
    )


@staff_member_required
def session_report_page(request: HttpRequest, session_id: str) -> HttpResponse:
    session = selectors.session_get(session_id=session_id)
    if session is None:
        raise Http404("No such session.")
    # A report holds personal data: opening it is an export, and audited like one.
    reports.export_record(actor=request.user, kind="report", filters={}, target_id=str(session.pk))
    return render(request, "interviews/staff/report.html", reports.session_report(session=session))
