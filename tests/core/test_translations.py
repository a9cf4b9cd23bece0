"""zh-Hans is complete: every catalogue translates every string it holds, and nothing is left fuzzy."""

from __future__ import annotations

import re
from gettext import GNUTranslations
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "doorstep"
CATALOGUES = sorted(PACKAGE.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))


def entries(text: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr or the plural forms joined, fuzzy) of each entry but the header."""
    found = []
    for block in re.split(r"\n\s*\n", text):
        if "msgid" not in block:
            continue
        fuzzy = bool(re.search(r"^#,.*\bfuzzy\b", block, re.MULTILINE))
        fields: dict[str, str] = {}
        current = ""
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d+\])?|msgctxt) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid", "") == "":
            continue
        translated = "".join(value for key, value in fields.items() if key.startswith("msgstr"))
        # A compiled catalogue keys a string with a context as "context\x04string".
        key = f"{fields['msgctxt']}\x04{fields['msgid']}" if "msgctxt" in fields else fields["msgid"]
        found.append((key, translated, fuzzy))
    return found


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: {"n": "\n", "t": "\t"}.get(match.group(1), match.group(1)), text)


def test_there_are_catalogues() -> None:
    assert any(path.parts[-5] == "doorstep" for path in CATALOGUES)


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_every_string_is_translated(catalogue: Path) -> None:
    missing = [msgid for msgid, msgstr, fuzzy in entries(catalogue.read_text(encoding="utf-8")) if fuzzy or not msgstr]
    assert missing == [], f"{len(missing)} untranslated or fuzzy in {catalogue}: {missing[:10]}"
    with catalogue.with_suffix(".mo").open("rb") as compiled:
        known = {key if isinstance(key, str) else key[0] for key in GNUTranslations(compiled)._catalog}  # type: ignore[attr-defined]
    stale = [msgid for msgid, _msgstr, _fuzzy in entries(catalogue.read_text(encoding="utf-8")) if unescape(msgid) not in known]
    assert stale == [], f"{catalogue.with_suffix('.mo')} is older than its .po; run `make messages`: {stale[:5]}"
