"""Every training and quality URL, tried by an outsider and by a collector on a colleague's records."""

import datetime as dt

from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from doorstep.collectors import urls
from tests.collectors.test_training import done_visit, make_course_with_exam
from tests.conftest import Cast


def test_no_training_url_gives_an_outsider_or_a_colleague_anything(cast: Cast, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from doorstep.collectors.models import Certificate, ClassSession, CourseModule, Material, QASample
    from doorstep.collectors.services import exam_attempt_start

    settings.MEDIA_ROOT = tmp_path
    exam = make_course_with_exam()
    module = CourseModule.objects.create(course=exam.course, topic="rules", title="m")
    material = Material(module=module, kind="file", title="f")
    material.file.save("a.pdf", ContentFile(b"%PDF"), save=True)
    attempt = exam_attempt_start(actor="system:t", exam=exam, collector=cast.other_collector)
    cert = Certificate(collector=cast.other_collector, kind="pre_job", issued_on=timezone.localdate())
    cert.document.save("c.pdf", ContentFile(b"%PDF"), save=True)
    session = ClassSession.objects.create(course=exam.course, starts_at=timezone.now(),
                                          ends_at=timezone.now() + dt.timedelta(hours=1), place="x")
    visit = done_visit(cast, collector=cast.other_collector)
    sample = QASample.objects.create(visit=visit, collector=cast.other_collector)
    ids = {"course_id": exam.course_id, "material_id": material.pk, "exam_id": exam.pk, "attempt_id": attempt.pk,
           "module_id": module.pk, "question_id": exam.course.questions.first().pk, "session_id": session.pk,
           "collector_id": cast.other_collector.pk, "certificate_id": cert.pk, "sample_id": sample.pk}
    problems = []
    for user in (cast.outsider, cast.collector_user):
        for pattern in urls.urlpatterns:
            names = list(pattern.pattern.converters)
            url = reverse(f"collectors:{pattern.name}", kwargs={n: ids[n] for n in names})
            for method in ("get", "post"):
                client = Client()
                client.force_login(user)
                status = getattr(client, method)(url).status_code
                ok = status in (403, 404, 405) or (user == cast.collector_user and pattern.name in (
                    "my_training", "course_read", "material_file", "exam_start"))
                if not ok or status >= 500:
                    problems.append((user.username, method, url, status))
    assert problems == []
