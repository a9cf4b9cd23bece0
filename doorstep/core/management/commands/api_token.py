"""`doorstep api-token USERNAME --name NAME` issues a token and prints it once; `--revoke PREFIX` revokes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from doorstep.core.models import ApiToken
from doorstep.core.services import api_token_create, api_token_revoke

OPERATOR = "system:api-token-command"


class Command(BaseCommand):
    help = "Issue an API token for a user (printed once, stored only as a hash), or revoke one by its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the user the token acts as")
        parser.add_argument("--name", help="which system uses the token, e.g. 'core banking feed'")
        parser.add_argument(
            "--revoke", metavar="PREFIX", help="revoke this user's live token with this prefix"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            if options["revoke"]:
                self._revoke(user, options["revoke"])
            elif options["name"]:
                token, raw = api_token_create(actor=OPERATOR, user=user, name=options["name"])
                self.stderr.write(
                    f"Token {token.name!r} for {username} (prefix {token.prefix}). "
                    "It is shown once; only its hash is kept."
                )
                self.stdout.write(raw)
            else:
                raise CommandError("Give --name NAME to issue a token, or --revoke PREFIX to revoke one.")
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error

    def _revoke(self, user: Any, prefix: str) -> None:
        matches = list(ApiToken.objects.filter(user=user, prefix=prefix, revoked_at__isnull=True))
        if not matches:
            raise CommandError(f"{user.get_username()} has no live token with prefix {prefix!r}.")
        if len(matches) > 1:
            raise CommandError(f"Several live tokens start with {prefix!r}; revoke them in the admin.")
        api_token_revoke(actor=OPERATOR, token=matches[0])
        self.stdout.write(f"Revoked {matches[0].name!r} ({prefix}…) of {user.get_username()}.")
