"""Leave half of each page of the loan and case tables free on PostgreSQL (a fifth until now).

A large payments file rewrites the figures of most loans and cases in one transaction. Each new row version
can stay on its page without an entry in any index (a heap-only update) when no indexed column changes and
the page has room for it: with half of each page free, every row on it can be rewritten once. No loan index
covers the figures; the cases' overdue amount is indexed (the case list sorts by it), so a large update of
cases takes their indexes off first (payments.services). Old versions are reclaimed by autovacuum before
the next day's imports. The tables take about twice the space of full pages.
"""

from django.db import migrations

TABLES = ("portfolio_loan", "portfolio_case")


def half_free(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = 50)")


def fifth_free(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = 80)")


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0004_room_for_updates"),
    ]

    operations = [migrations.RunPython(half_free, fifth_free)]
