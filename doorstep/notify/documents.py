"""A letter from the outbox as a PDF, for printing and posting (core/pdf.py)."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from doorstep.core.crypto import decrypt_text
from doorstep.core.pdf import Text, pdf_render
from doorstep.notify.models import Message, MessageChannel


def letter_pdf(message: Message) -> bytes:
    """The letter as posted: the address block, then the rendered text, in the letter's own language."""
    if message.channel != MessageChannel.LETTER:
        raise ValueError("only letters have a PDF")
    with translation.override(message.language):
        footer = _("Reference %(reference)s") % {"reference": f"M{message.pk:08d}"}
    address = decrypt_text(message.recipient_encrypted) if message.recipient_encrypted else ""
    blocks = [Text(address), Text(""), *[Text(paragraph) for paragraph in message.body.split("\n\n")]]
    return pdf_render(title=message.subject or message.template, blocks=blocks, footer=footer)
