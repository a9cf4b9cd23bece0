"""Training, certificates and quality pages: collectors take their courses and exams (on a phone),
trainers keep courses, question banks and sessions, team leads watch their team and review visits."""

from __future__ import annotations

import datetime as dt
import mimetypes
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from doorstep.collectors import forms, selectors, services
from doorstep.collectors.models import (
    QA_LOW_SCORE,
    AttemptStatus,
    Attendance,
    Certificate,
    CertificateKind,
    ClassSession,
    Collector,
    Course,
    CourseModule,
    Enrolment,
    EnrolmentReason,
    Exam,
    ExamAttempt,
    Material,
    QAItem,
    QASample,
    Question,
    ReviewFlag,
    SampleReason,
)
from doorstep.core.roles import Role, has_role

MANAGE = "collectors.manage_training"
TEAM = "collectors.view_team_training"
REVIEW = "collectors.review_quality"


def _errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _own_collector(request: HttpRequest) -> Collector:
    collector = getattr(request.user, "collector", None)
    if collector is None:
        raise Http404
    return collector


# ---------------------------------------------------------------- a collector's own training


@login_required
def my_training(request: HttpRequest) -> HttpResponse:
    collector = _own_collector(request)
    today = timezone.localdate()
    status = selectors.training_status(collectors=[collector], on=today)[0]
    enrolments = list(
        Enrolment.objects.filter(collector=collector).select_related("course").order_by("completed_at", "-assigned_at")
    )
    course_ids = {enrolment.course_id for enrolment in enrolments if enrolment.completed_at is None}
    exams = []
    for exam in Exam.objects.filter(course_id__in=course_ids, is_active=True).select_related("course"):
        running = ExamAttempt.objects.filter(exam=exam, collector=collector, status=AttemptStatus.IN_PROGRESS).first()
        exams.append({"exam": exam, "left": services.exam_attempts_left(exam=exam, collector=collector),
                      "running": running})
    sessions = (
        Attendance.objects.filter(collector=collector, session__ends_at__gte=timezone.now())
        .select_related("session__course").order_by("session__starts_at")
    )
    attempts = ExamAttempt.objects.filter(collector=collector).exclude(status=AttemptStatus.IN_PROGRESS)
    return render(request, "collectors/my_training.html", {
        "collector": collector,
        "status": status,
        "enrolments": enrolments,
        "exams": exams,
        "sessions": sessions,
        "attempts": attempts.select_related("exam")[:10],
        "certificates": collector.certificates.order_by("-issued_on"),
    })


def _course_for(request: HttpRequest, course_id: int) -> Course:
    course = get_object_or_404(Course, pk=course_id)
    if request.user.has_perm(MANAGE):
        return course
    collector = _own_collector(request)
    if not course.is_active and not Enrolment.objects.filter(collector=collector, course=course).exists():
        raise Http404
    return course


@login_required
def course_read(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_for(request, course_id)
    modules = course.modules.prefetch_related("materials")
    exams = course.exams.filter(is_active=True)
    collector = getattr(request.user, "collector", None)
    exam_rows = [
        {"exam": exam, "left": services.exam_attempts_left(exam=exam, collector=collector) if collector else None}
        for exam in exams
    ]
    return render(request, "collectors/course_read.html", {"course": course, "modules": modules, "exams": exam_rows})


@login_required
def material_file(request: HttpRequest, material_id: int) -> FileResponse:
    material = get_object_or_404(Material.objects.select_related("module__course"), pk=material_id)
    _course_for(request, material.module.course_id)
    if not material.file:
        raise Http404
    content_type = mimetypes.guess_type(material.file.name)[0] or "application/octet-stream"
    return FileResponse(material.file.open("rb"), content_type=content_type, filename=material.file.name.rsplit("/", 1)[-1])


@login_required
@require_POST
def exam_start(request: HttpRequest, exam_id: int) -> HttpResponse:
    collector = _own_collector(request)
    exam = get_object_or_404(Exam, pk=exam_id, is_active=True)
    try:
        attempt = services.exam_attempt_start(actor=request.user, exam=exam, collector=collector)
    except ValidationError as error:
        _errors(request, error)
        return redirect("collectors:my_training")
    return redirect("collectors:attempt_take", attempt.pk)


def _attempt_for(request: HttpRequest, attempt_id: int) -> ExamAttempt:
    collector = _own_collector(request)
    return get_object_or_404(ExamAttempt.objects.select_related("exam__course"), pk=attempt_id, collector=collector)


@login_required
@require_http_methods(["GET", "POST"])
def attempt_take(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt_for(request, attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return redirect("collectors:attempt_result", attempt.pk)
    if request.method == "POST":
        answers = {}
        for item in attempt.paper:
            value = request.POST.get(f"q{item['question']}", "")
            if value.isdigit():
                answers[str(item["question"])] = int(value)
        unanswered = len(attempt.paper) - len(answers)
        if unanswered and request.POST.get("confirm") != "1" and timezone.now() <= attempt.deadline:
            messages.error(request, _("%(count)s questions have no answer yet. Hand in again to confirm.")
                           % {"count": unanswered})
            given = answers
            confirm_next = True
        else:
            try:
                services.exam_attempt_submit(actor=request.user, attempt_id=attempt.pk, answers=answers)
            except ValidationError as error:
                _errors(request, error)
            return redirect("collectors:attempt_result", attempt.pk)
    else:
        given = {}
        confirm_next = False
    questions = {q.pk: q for q in Question.objects.filter(pk__in=[i["question"] for i in attempt.paper])}
    choices = {
        choice.pk: choice
        for question in Question.objects.filter(pk__in=list(questions)).prefetch_related("choices")
        for choice in question.choices.all()
    }
    paper = [
        {
            "number": index + 1,
            "question": questions[item["question"]],
            "choices": [(choice_id, choices[choice_id].text) for choice_id in item["choices"] if choice_id in choices],
            "given": given.get(str(item["question"])),
        }
        for index, item in enumerate(attempt.paper)
        if item["question"] in questions
    ]
    seconds_left = max(int((attempt.deadline - timezone.now()).total_seconds()), 0)
    return render(request, "collectors/attempt_take.html", {
        "attempt": attempt, "paper": paper, "seconds_left": seconds_left, "confirm_next": confirm_next,
    })


@login_required
def attempt_result(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt_for(request, attempt_id)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        return redirect("collectors:attempt_take", attempt.pk)
    certificate = Certificate.objects.filter(exam_attempt=attempt).first()
    field_ready = attempt.collector_id in selectors.field_ready_collector_ids(on=timezone.localdate())
    return render(request, "collectors/attempt_result.html", {
        "attempt": attempt,
        "certificate": certificate,
        "field_ready": field_ready,
        "missing": sorted(
            str(CertificateKind(kind).label) if kind in CertificateKind.values else kind
            for kind in selectors.missing_certificates(
                on=timezone.localdate(), collector_ids={attempt.collector_id}
            ).get(attempt.collector_id, set())
        ),
        "left": services.exam_attempts_left(exam=attempt.exam, collector=attempt.collector),
    })


# ---------------------------------------------------------------- trainers


@login_required
@permission_required(MANAGE, raise_exception=True)
def trainer_home(request: HttpRequest) -> HttpResponse:
    courses = Course.objects.annotate(
        module_count=Count("modules", distinct=True),
        question_count=Count("questions", filter=Q(questions__is_active=True), distinct=True),
        open_enrolments=Count("enrolments", filter=Q(enrolments__completed_at__isnull=True), distinct=True),
    )
    sessions = ClassSession.objects.filter(ends_at__gte=timezone.now()).select_related("course").annotate(
        invited=Count("attendance")
    ).order_by("starts_at")[:10]
    return render(request, "collectors/trainer_home.html", {"courses": courses, "sessions": sessions})


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def course_edit(request: HttpRequest, course_id: int | None = None) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id) if course_id else Course()
    form = forms.CourseForm(request.POST or None, instance=course)
    if request.method == "POST" and form.is_valid():
        try:
            course = services.course_save(actor=request.user, course=form.save(commit=False))
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("Course saved."))
            return redirect("collectors:course_edit", course.pk)
    context: dict[str, Any] = {"form": form, "course": course}
    if course.pk:
        context.update(
            modules=course.modules.prefetch_related("materials"),
            questions=course.questions.prefetch_related("choices"),
            exams=course.exams.all(),
            enrol_form=forms.EnrolForm(),
            enrolments=course.enrolments.select_related("collector__user").filter(completed_at__isnull=True),
        )
    return render(request, "collectors/course_edit.html", context)


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def module_new(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    form = forms.ModuleForm(request.POST or None, initial={"position": course.modules.count() + 1})
    if request.method == "POST" and form.is_valid():
        module = form.save(commit=False)
        module.course = course
        services.module_save(actor=request.user, module=module)
        messages.success(request, _("Module added."))
        return redirect("collectors:course_edit", course.pk)
    return render(request, "collectors/simple_form.html", {
        "form": form, "title": _("New module"), "back": course, "multipart": False,
    })


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def material_new(request: HttpRequest, module_id: int) -> HttpResponse:
    module = get_object_or_404(CourseModule.objects.select_related("course"), pk=module_id)
    form = forms.MaterialForm(request.POST or None, request.FILES or None,
                              initial={"position": module.materials.count() + 1})
    if request.method == "POST" and form.is_valid():
        material = form.save(commit=False)
        material.module = module
        try:
            services.material_save(actor=request.user, material=material)
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("Material added."))
            return redirect("collectors:course_edit", module.course_id)
    return render(request, "collectors/simple_form.html", {
        "form": form, "title": _("New material for %(module)s") % {"module": module.title},
        "back": module.course, "multipart": True,
    })


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, course_id: int, question_id: int | None = None) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    question = get_object_or_404(Question, pk=question_id, course=course) if question_id else Question(course=course)
    form = forms.QuestionForm(request.POST or None, instance=question)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_save(actor=request.user, question=form.save(commit=False), answers=form.answers(),
                                   correct=form.cleaned_data["correct"])
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("Question saved."))
            return redirect("collectors:course_edit", course.pk)
    return render(request, "collectors/question_edit.html", {"form": form, "course": course, "question": question})


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def exam_edit(request: HttpRequest, course_id: int, exam_id: int | None = None) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    exam = get_object_or_404(Exam, pk=exam_id, course=course) if exam_id else Exam(course=course, title=course.title)
    form = forms.ExamForm(request.POST or None, instance=exam)
    if request.method == "POST" and form.is_valid():
        bank = course.questions.filter(is_active=True).count()
        if form.cleaned_data["question_count"] > bank:
            form.add_error("question_count", _("The bank has only %(count)s questions.") % {"count": bank})
        else:
            services.exam_save(actor=request.user, exam=form.save(commit=False))
            messages.success(request, _("Exam saved."))
            return redirect("collectors:course_edit", course.pk)
    return render(request, "collectors/simple_form.html", {
        "form": form, "title": _("Exam of %(course)s") % {"course": course.title}, "back": course, "multipart": False,
    })


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def course_enrol(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    form = forms.EnrolForm(request.POST)
    if form.is_valid():
        services.enrolment_assign(actor=request.user, collector=form.cleaned_data["collector"], course=course,
                                  reason=EnrolmentReason.MANUAL, due_on=form.cleaned_data["due_on"])
        messages.success(request, _("Course assigned."))
    else:
        messages.error(request, _("Choose a collector."))
    return redirect("collectors:course_edit", course.pk)


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_list(request: HttpRequest) -> HttpResponse:
    form = forms.SessionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        session = form.save(commit=False)
        session.trainer = request.user
        services.session_save(actor=request.user, session=session)
        messages.success(request, _("Session planned."))
        return redirect("collectors:session_detail", session.pk)
    sessions = ClassSession.objects.select_related("course", "trainer").annotate(
        invited=Count("attendance"), present=Count("attendance", filter=Q(attendance__status="present"))
    )
    page = Paginator(sessions.order_by("-starts_at"), 30).get_page(request.GET.get("page"))
    return render(request, "collectors/session_list.html", {"form": form, "page": page})


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(ClassSession.objects.select_related("course"), pk=session_id)
    form = forms.AttendanceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.attendance_record(actor=request.user, session=session,
                                       collector=form.cleaned_data["collector"], status=form.cleaned_data["status"])
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("Attendance recorded."))
        return redirect("collectors:session_detail", session.pk)
    rows = session.attendance.select_related("collector__user", "collector__team")
    return render(request, "collectors/session_detail.html", {"session": session, "rows": rows, "form": form,
                                                               "statuses": Attendance._meta.get_field("status").choices})


@login_required
@permission_required(MANAGE, raise_exception=True)
def results(request: HttpRequest) -> HttpResponse:
    attempts = ExamAttempt.objects.exclude(status=AttemptStatus.IN_PROGRESS).select_related(
        "exam__course", "collector__user", "collector__team"
    )
    exam_id = request.GET.get("exam")
    if exam_id and exam_id.isdigit():
        attempts = attempts.filter(exam_id=int(exam_id))
    page = Paginator(attempts.order_by("-submitted_at"), 50).get_page(request.GET.get("page"))
    return render(request, "collectors/results.html", {"page": page, "exams": Exam.objects.select_related("course"),
                                                        "exam_id": exam_id})


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def certificate_new(request: HttpRequest) -> HttpResponse:
    form = forms.CertificateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.certificate_record(actor=request.user, collector=data["collector"], kind=data["kind"],
                                        number=data["number"], issued_on=data["issued_on"],
                                        expires_on=data["expires_on"], document=data["document"])
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("Certificate recorded."))
            return redirect("collectors:collector_detail", data["collector"].pk)
    return render(request, "collectors/simple_form.html", {
        "form": form, "title": _("Record a certificate"), "back": None, "multipart": True,
        "hint": _("For a certificate earned outside Doorstep, such as the IIBF recovery-agent certificate: "
                  "its number, dates and a scan of the document."),
    })


# ---------------------------------------------------------------- team leads


@login_required
@permission_required(TEAM, raise_exception=True)
def team_status(request: HttpRequest) -> HttpResponse:
    collectors = list(selectors.visible_collectors(user=request.user).filter(is_active=True).order_by(
        "team__name", "badge_number"))
    team_id = request.GET.get("team")
    teams = sorted({collector.team for collector in collectors}, key=lambda team: team.name)
    if team_id and team_id.isdigit():
        collectors = [collector for collector in collectors if collector.team_id == int(team_id)]
    rows = selectors.training_status(collectors=collectors, on=timezone.localdate())
    counts = {state: sum(1 for row in rows if row.worst == state) for state in ("valid", "expiring", "expired", "missing")}
    return render(request, "collectors/team_status.html", {
        "rows": rows,
        "kinds": rows[0].certificates if rows else [],
        "teams": teams,
        "team_id": team_id,
        "counts": counts,
        "ready": sum(1 for row in rows if row.field_ready),
        "to_reassign": sum(row.cases_to_reassign for row in rows),
    })


@login_required
def collector_detail(request: HttpRequest, collector_id: int) -> HttpResponse:
    collector = selectors.collector_for(user=request.user, collector_id=collector_id)
    today = timezone.localdate()
    now = timezone.now()
    status = selectors.training_status(collectors=[collector], on=today)[0]
    card = selectors.scorecards(collectors=[collector], since=now - dt.timedelta(days=90), until=now)[0]
    flags = ReviewFlag.objects.filter(collector=collector).select_related("enrolment__course")
    reviews = QASample.objects.filter(collector=collector, reviews__isnull=False).distinct().prefetch_related(
        Prefetch("reviews")).select_related("visit").order_by("-sampled_at")[:20]
    return render(request, "collectors/collector_detail.html", {
        "collector": collector,
        "status": status,
        "card": card,
        "flags": flags,
        "samples": reviews,
        "attempts": collector.exam_attempts.select_related("exam").order_by("-started_at")[:20],
        "certificates": collector.certificates.order_by("kind", "-issued_on"),
        "enrolments": collector.enrolments.select_related("course").order_by("-assigned_at")[:20],
        "assignments": collector.assignments.filter(ended_at__isnull=True, reassign_flagged_at__isnull=False)
        .select_related("case__borrower")[:50],
        "can_review": request.user.has_perm(REVIEW),
    })


@login_required
def certificate_document(request: HttpRequest, certificate_id: int) -> FileResponse:
    certificate = get_object_or_404(Certificate, pk=certificate_id)
    selectors.collector_for(user=request.user, collector_id=certificate.collector_id)
    if not certificate.document:
        raise Http404
    content_type = mimetypes.guess_type(certificate.document.name)[0] or "application/octet-stream"
    return FileResponse(certificate.document.open("rb"), content_type=content_type,
                        filename=certificate.document.name.rsplit("/", 1)[-1])


@login_required
@permission_required(TEAM, raise_exception=True)
def scorecard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    days = 90
    collectors = list(selectors.visible_collectors(user=request.user).filter(is_active=True).order_by("badge_number"))
    cards = selectors.scorecards(collectors=collectors, since=now - dt.timedelta(days=days), until=now)
    cards.sort(key=lambda card: (card.balanced is None, -(card.balanced or 0)))
    return render(request, "collectors/scorecard.html", {"cards": cards, "days": days,
                                                          "weights": selectors.SCORE_WEIGHTS})


@login_required
@permission_required(REVIEW, raise_exception=True)
@require_http_methods(["GET", "POST"])
def qa_queue(request: HttpRequest) -> HttpResponse:
    may_draw = has_role(request.user, Role.ADMIN, Role.MANAGER)
    today = timezone.localdate()
    draw_form = forms.SampleDrawForm(request.POST or None, initial={"since": today - dt.timedelta(days=1), "until": today})
    if request.method == "POST":
        if not may_draw:
            raise PermissionDenied
        if draw_form.is_valid():
            data = draw_form.cleaned_data
            zone = timezone.get_current_timezone()
            samples = services.qa_sample_draw(
                actor=request.user,
                since=dt.datetime.combine(data["since"], dt.time.min, tzinfo=zone),
                until=dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
                share=data["share"] / 100,
            )
            messages.success(request, _("%(count)s visits picked for review.") % {"count": len(samples)})
            return redirect("collectors:qa_queue")
    queue = selectors.qa_queue(user=request.user)
    page = Paginator(queue, 50).get_page(request.GET.get("page"))
    reason_labels = dict(SampleReason.choices)
    for sample in page:
        sample.reason_labels = [reason_labels.get(reason, reason) for reason in sample.reasons]
    recent = selectors.qa_recent(user=request.user)
    return render(request, "collectors/qa_queue.html", {
        "page": page, "recent": recent, "draw_form": draw_form if may_draw else None,
    })


@login_required
@permission_required(REVIEW, raise_exception=True)
@require_http_methods(["GET", "POST"])
def qa_review(request: HttpRequest, sample_id: int) -> HttpResponse:
    sample = selectors.qa_sample_for(user=request.user, sample_id=sample_id)
    form = forms.QAReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review = services.qa_review_submit(actor=request.user, sample_id=sample.pk, scores=form.scores(),
                                               comment=form.cleaned_data["comment"])
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("Review saved: %(score)s%%.") % {"score": review.score})
            return redirect("collectors:qa_queue")
    visit = sample.visit
    reviews = list(sample.reviews.select_related("reviewer").prefetch_related("items"))
    already = any(review.reviewer_id == request.user.pk for review in reviews)
    labels = dict(QAItem.choices)
    compared = []
    if len(reviews) >= 2:
        first = {item.item: item for item in reviews[0].items.all()}
        second = {item.item: item for item in reviews[1].items.all()}
        compared = [
            {"label": labels[item], "first": first.get(item), "second": second.get(item),
             "gap": abs(first[item].score - second[item].score) if item in first and item in second else None}
            for item in QAItem.values
        ]
    reason_labels = dict(SampleReason.choices)
    return render(request, "collectors/qa_review.html", {
        "sample": sample,
        "visit": visit,
        "attachments": visit.attachments.all(),
        "reviews": reviews,
        "compared": compared,
        "form": form,
        "may_review": not already and sample.collector.user_id != request.user.pk and (
            sample.completed_at is None or (sample.double_review and len(reviews) < 2)),
        "reasons": [reason_labels.get(reason, reason) for reason in sample.reasons],
        "low_score": QA_LOW_SCORE,
        "minutes": int((visit.checked_out_at - visit.checked_in_at).total_seconds() // 60)
        if visit.checked_in_at and visit.checked_out_at else None,
    })
