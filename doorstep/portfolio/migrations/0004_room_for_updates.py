"""Leave room in each page of the loan and case tables on PostgreSQL.

The daily snapshot and the payments imports rewrite the figures of most overdue loans and cases. With
free space in the page and no indexed column changed, PostgreSQL writes the new row version next to the
old one without touching any index (a heap-only update); with full pages every updated row costs an
entry in every index. Rows already stored move into the space as they are rewritten.
"""

from django.db import migrations

TABLES = ("portfolio_loan", "portfolio_case")


def leave_room(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = 80)")


def fill_pages(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0003_borrower_name_index"),
    ]

    operations = [migrations.RunPython(leave_room, fill_pages)]
