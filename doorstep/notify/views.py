from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from doorstep.core.audit import audit_record
from doorstep.notify import selectors
from doorstep.notify.documents import letter_pdf as render_letter_pdf
from doorstep.notify.models import MessageChannel, MessageStatus

PER_PAGE = 50


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    """The messages of the cases and collectors the user oversees: status, masked recipient and text."""
    status = request.GET.get("status", "")
    channel = request.GET.get("channel", "")
    status = status if status in MessageStatus.values else ""
    channel = channel if channel in MessageChannel.values else ""
    messages = selectors.outbox_list(user=request.user, status=status, channel=channel)
    page = Paginator(messages, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/outbox.html",
        {
            "page": page,
            "status": status,
            "channel": channel,
            "statuses": MessageStatus.choices,
            "channels": MessageChannel.choices,
        },
    )


@login_required
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get(user=request.user, message_id=message_id)
    return render(
        request,
        "notify/message_detail.html",
        {"message": message, "reasons": selectors.message_reasons(message)},
    )


@login_required
def letter_pdf(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get(user=request.user, message_id=message_id)
    if message.channel != MessageChannel.LETTER or message.is_secret:
        raise Http404("not a letter")
    # The PDF carries the full postal address: taking it is recorded, as revealing personal data is.
    audit_record(actor=request.user, action="notify.letter.printed", target=message)
    response = HttpResponse(render_letter_pdf(message), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="letter-{message.pk}.pdf"'
    return response
