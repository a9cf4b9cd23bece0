"""The `doorstep` console command: Django's management commands with Doorstep's settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    from django.core.management import execute_from_command_line

    arguments = list(argv if argv is not None else sys.argv[1:])
    if arguments and not arguments[0].startswith("-"):
        # `doorstep import-snapshot` runs the `import_snapshot` command.
        arguments[0] = arguments[0].replace("-", "_")
    execute_from_command_line(["doorstep", *arguments])


if __name__ == "__main__":
    main()
