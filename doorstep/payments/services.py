"""Importing payments: one all-or-nothing transaction per file, idempotent by the bank's transaction id."""
# SQL here is assembled from model metadata and values this module computes (integers, table names).
# ruff: noqa: S608

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core import bulk
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.payments import importer
from doorstep.payments.importer import PaymentsFile, PaymentsRejected, RowError
from doorstep.payments.models import ALLOCATED, Payment, PaymentImport
from doorstep.portfolio import intake
from doorstep.portfolio.intake import CURABLE_STATUSES
from doorstep.portfolio.models import Case, CaseStatus, CaseStatusChange, Loan

logger = logging.getLogger(__name__)
__all__ = ["PaymentsRejected", "RowError", "payments_import", "payments_import_rows"]

ProgressCallback = Callable[[str, int, int], None]
MONEY = ("penalty_interest", "overdue_interest", "overdue_principal", "outstanding_principal")
OVERDUE = ("penalty_interest", "overdue_interest", "overdue_principal")
# From this many new payments on, a load into tables no bigger than it builds indexes and keys once at the end.
BULK_LOAD_ROWS = 100_000


def payments_import(
    *, actor: Actor, path: Path, encoding: str | None = None, progress: ProgressCallback | None = None
) -> PaymentImport:
    """Load a payments file (docs/formats.md): every row checked first, nothing written if any is bad.

    A transaction id seen before is skipped (a file twice, or overlapping files, never count twice); a
    reversal restores its loan exactly as if the payment had not been made, and one that arrives before
    its payment waits for it. Each payment is allocated by the waterfall; loans and cases get their new
    figures; a case paid up is cured and its planned visits cancelled; promises and plans are judged.
    When nothing in the file is new, nothing is written and an unsaved record with `already_imported`
    is returned.
    """
    started = timezone.now()
    payments = importer.load_payments(path, encoding=encoding)
    if progress:
        progress("validated", payments.count, payments.count)
    return _import(actor=actor, payments=payments, started=started, progress=progress)


def payments_import_rows(*, actor: Actor, rows: list[dict[str, Any]], source: str = "api") -> PaymentImport:
    """The same import for payments sent as JSON (the API): row n is reported as line n + 1."""
    started = timezone.now()
    columns = (*importer.REQUIRED_COLUMNS, *importer.OPTIONAL_COLUMNS)
    data = {name: [str(row.get(name, "") if row.get(name) is not None else "") for row in rows] for name in columns}
    frame = pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String)).with_row_index(
        intake.LINE, offset=2
    ).with_columns(pl.col(intake.LINE).cast(pl.Int64))
    digest = intake.hashlib.sha256(frame.write_csv().encode()).hexdigest()
    frame, warnings, sha256 = importer.frame_columns(frame, digest)
    if frame.height == 0:
        raise PaymentsRejected([RowError(2, "", "", _("no payments were sent"))])
    payments = PaymentsFile(rows=importer.validate(frame), file_name=source, file_sha256=sha256, warnings=warnings)
    return _import(actor=actor, payments=payments, started=started, progress=None)


def _lock(using: str = "default") -> None:
    if bulk.connections[using].vendor == "postgresql":
        bulk.execute("SELECT pg_advisory_xact_lock(hashtext('doorstep.payments.payments_import'))", using=using)


def _record(payments: PaymentsFile, *, started: Any, who: dict[str, Any], **counts: Any) -> PaymentImport:
    """The (unsaved) record of importing `payments`, with what it added or skipped."""
    return PaymentImport(
        file_name=payments.file_name[:255],
        file_sha256=payments.file_sha256,
        rows=payments.count,
        started_at=started,
        finished_at=timezone.now(),
        imported_by=who["actor"],
        imported_by_label=who["actor_label"],
        **counts,
    )


def _import(
    *, actor: Actor, payments: PaymentsFile, started: Any, progress: ProgressCallback | None, using: str = "default"
) -> PaymentImport:
    importer_actor: Actor = actor if actor is not None else "system:import"
    who = actor_fields(importer_actor)
    with transaction.atomic(using=using):
        _lock(using)
        if PaymentImport.objects.using(using).filter(file_sha256=payments.file_sha256).exists():
            # This very file was imported before, and each of its rows was stored then as it says (a stored
            # payment is never changed or deleted; a reversal is a row of its own): every row is a duplicate.
            record = _record(payments, started=started, who=who, duplicates_skipped=payments.count,
                             warnings=list(payments.warnings))
            record.already_imported = True  # type: ignore[attr-defined]
            return record
        if payments.count >= BULK_LOAD_ROWS:
            bulk.working_memory_for_batch(using=using)
        plan = importer.plan_import(payments, using=using)
        if progress:
            progress("planned", payments.count, payments.count)
        record = _record(
            payments,
            started=started,
            who=who,
            payments_added=int((plan.new_payments["reversal_of"] == "").sum()),
            reversals_added=int((plan.new_payments["reversal_of"] != "").sum()),
            reversals_waiting=plan.waiting,
            duplicates_skipped=plan.duplicates,
            warnings=plan.warnings,
        )
        if plan.new_payments.height == 0:
            record.already_imported = True  # type: ignore[attr-defined]
            return record
        record.save(using=using)
        _write(plan, record, using=using)
        case_ids = sorted(set(plan.loan_updates["case_id"].drop_nulls().to_list())) if plan.loan_updates.height else []
        cured = _refresh_cases(case_ids, actor=importer_actor, using=using)
        record.cases_cured = len(cured)
        record.finished_at = timezone.now()
        record.save(update_fields=["cases_cured", "finished_at"])
        followed = _follow(case_ids, actor=importer_actor)
        audit_record(
            actor=importer_actor,
            action="payments.import.completed",
            target=record,
            data={
                "file": record.file_name,
                "file_sha256": record.file_sha256,
                "rows": record.rows,
                "payments_added": record.payments_added,
                "reversals_added": record.reversals_added,
                "reversals_waiting": record.reversals_waiting,
                "duplicates_skipped": record.duplicates_skipped,
                "cases_cured": cured[:200],
                "followed": followed,
            },
        )
    record.already_imported = False  # type: ignore[attr-defined]
    if progress:
        progress("done", payments.count, payments.count)
    return record


def _write(plan: importer.Plan, record: PaymentImport, *, using: str) -> None:
    tables = [Payment._meta.db_table]
    large = _large_load(plan.new_payments.height, using=using)
    if large:
        # Keys cannot be dropped while checks this transaction deferred are still pending (the import record's).
        bulk.execute("SET CONSTRAINTS ALL IMMEDIATE", using=using)
    with bulk.checks_deferred_for_bulk_load(tables, when=large, using=using):
        _write_rows(plan, record, using=using)
    if large:
        bulk.execute("SET CONSTRAINTS ALL DEFERRED", using=using)


def _write_rows(plan: importer.Plan, record: PaymentImport, *, using: str) -> None:
    table = Payment._meta.db_table
    allocated = [intake.fen_text(pl.col(component)).alias(column) for component, column in ALLOCATED.items()]
    rows = plan.new_payments.select(
        "txn_id",
        pl.col("loan_pk").alias("loan_id"),
        "case_id",
        intake.fen_text(pl.col("amount")).alias("amount"),
        "currency",
        "paid_at",
        "channel",
        "reversal_of",
        "state",
        *allocated,
        pl.lit(record.pk, dtype=pl.Int64).alias("payment_import_id"),
    )
    bulk.bulk_insert(table=table, frame=rows, using=using)
    if plan.flip_to_reversed.len():
        bulk.bulk_update(
            table=table,
            key="id",
            frame=pl.DataFrame({"id": plan.flip_to_reversed, "state": ["reversed"] * plan.flip_to_reversed.len()}),
            using=using,
        )
    if plan.flip_to_reversal.height:
        bulk.bulk_update(
            table=table,
            key="id",
            frame=plan.flip_to_reversal.select("id", pl.lit("reversal").alias("state"), *allocated),
            using=using,
        )
    if plan.loan_updates.height:
        # A loan with nothing left overdue is no longer overdue; the next snapshot confirms or corrects it.
        loans = plan.loan_updates
        paid_up = pl.sum_horizontal(OVERDUE) == 0
        figures = loans.select(
            "id",
            *[intake.fen_text(pl.col(name)).alias(name) for name in MONEY],
            (~paid_up & (pl.col("was_overdue") == 1)).alias("is_overdue"),
            pl.when(paid_up).then(pl.lit(0, dtype=pl.Int32)).otherwise(pl.col("days_past_due")).alias("days_past_due"),
            pl.when(paid_up).then(pl.lit("")).otherwise(pl.col("bucket")).alias("bucket"),
            pl.lit(timezone.now()).dt.replace_time_zone(None).dt.replace_time_zone("UTC").alias("updated_at"),
        )
        # No loan index covers these columns and the table leaves half of each page free (portfolio 0005):
        # the new row versions stay on their pages (heap-only) and touch no index, however many loans change.
        bulk.bulk_update(table=Loan._meta.db_table, key="id", frame=figures, using=using)


def _large_load(new_rows: int, *, using: str) -> bool:
    """Whether to take the payment tables' indexes and keys off for this load and build them again after
    (core.bulk): worth it when the load is large and at least as big as what the tables hold already."""
    if new_rows < BULK_LOAD_ROWS or bulk.connections[using].vendor != "postgresql":
        return False
    return new_rows >= bulk.table_rows(Payment._meta.db_table, using=using)


def _refresh_cases(case_ids: list[int], *, actor: Actor, using: str) -> list[int]:
    """The cases' figures again from their loans; an active case with nothing left overdue is cured, with the
    status change and history row `case_transition` makes, for any number of cases at once. The figures are
    summed and written inside the database, each case row once."""
    if not case_ids:
        return []
    staging, sums = "payments_staged_cases", "payments_case_sums"
    for table in (staging, sums):
        bulk.execute(f"DROP TABLE IF EXISTS {table}", using=using)
    bulk.execute(f"CREATE TEMPORARY TABLE {staging} (case_id bigint PRIMARY KEY)", using=using)
    bulk.bulk_insert(table=staging, frame=pl.DataFrame({"case_id": case_ids}, schema={"case_id": pl.Int64}), using=using)
    loan_table, case_table = Loan._meta.db_table, Case._meta.db_table
    overdue = " + ".join(f"l.{name}" for name in OVERDUE)
    # In fen, so that sums are exact on both databases.
    bulk.execute(
        f"CREATE TEMPORARY TABLE {sums} AS SELECT l.case_id AS case_id, "
        + ", ".join(f"SUM({intake._fen_sql('l.' + name)}) AS {name}" for name in MONEY)
        + f", SUM({intake._fen_sql(f'({overdue})')}) AS overdue_total "
        f"FROM {loan_table} l JOIN {staging} s ON s.case_id = l.case_id GROUP BY l.case_id",
        using=using,
    )
    curable = ", ".join(f"'{status}'" for status in CURABLE_STATUSES)
    paid_up = bulk.read_frame(
        f"SELECT c.id, c.status FROM {case_table} c JOIN {sums} t ON t.case_id = c.id "
        f"WHERE t.overdue_total = 0 AND c.status IN ({curable})",
        {"case_id": pl.Int64, "from_status": pl.String},
        using=using,
    )
    now, today = timezone.now(), timezone.localdate()
    quoted_today = f"'{today.isoformat()}'"
    cured = f"(t.overdue_total = 0 AND status IN ({curable}))"
    assignments = [
        *(f"{name} = t.{name} / 100.0" for name in (*MONEY, "overdue_total")),
        "updated_at = %s",
        f"status = CASE WHEN {cured} THEN '{CaseStatus.CURED.value}' ELSE status END",
        f"days_past_due = CASE WHEN {cured} THEN 0 ELSE days_past_due END",
        f"bucket = CASE WHEN {cured} THEN '' ELSE bucket END",
        f"closed_on = CASE WHEN {cured} THEN (CASE WHEN opened_on > {quoted_today} THEN opened_on "
        f"ELSE {quoted_today} END) "
        "ELSE closed_on END",
    ]
    # The overdue amount is indexed (the case list sorts by it), so every changed case would cost an entry in
    # each index. When most cases change, the indexes that read the figures come off and are built again
    # once at the end; the others stay, and a case not cured then keeps them as they were: its update is
    # heap-only (portfolio 0005 leaves room in the pages).
    large = len(case_ids) >= max(BULK_LOAD_ROWS, bulk.table_rows(case_table, using=using) // 4)
    figures = (*MONEY, "overdue_total", "updated_at")
    with (
        bulk.indexes_rebuilt_after(case_table, columns=figures, when=large, using=using),
        connections[using].cursor() as cursor,
    ):
        cursor.execute(
            f"UPDATE {case_table} SET {', '.join(assignments)} FROM {sums} t WHERE {case_table}.id = t.case_id",
            [now],
        )
    if paid_up.height:
        who = actor_fields(actor)
        history = paid_up.select(
            "case_id",
            "from_status",
            pl.lit(CaseStatus.CURED.value).alias("to_status"),
            pl.lit(now).dt.replace_time_zone(None).dt.replace_time_zone("UTC").alias("at"),
            pl.lit(today).alias("business_date"),
            pl.lit(who["actor"].pk if who["actor"] is not None else None, dtype=pl.Int64).alias("actor_id"),
            pl.lit(who["actor_label"]).alias("actor_label"),
            pl.lit(str(_("Every overdue amount has been paid."))).alias("reason"),
        )
        bulk.bulk_insert(table=CaseStatusChange._meta.db_table, frame=history, using=using)
    cured_ids = sorted(paid_up["case_id"].to_list())
    _cancel_visits(cured_ids, actor=actor)
    return cured_ids


def _cancel_visits(case_ids: list[int], *, actor: Actor) -> None:
    if not case_ids:
        return
    try:
        from doorstep.visits.services import visits_cancel_for_case
    except ImportError:
        logger.warning("visits.services.visits_cancel_for_case is not available; visits of cured cases stay planned")
        return
    from doorstep.visits.models import Visit, VisitStatus

    with_visits = (
        Visit.objects.filter(case_id__in=case_ids, status=VisitStatus.SCHEDULED).values_list("case_id", flat=True).distinct()
    )
    for case_id in sorted(set(with_visits)):
        visits_cancel_for_case(actor=actor, case_id=case_id, reason=_("The case is cured: everything overdue is paid."))


def _follow(case_ids: list[int], *, actor: Actor) -> dict[str, Any]:
    """Promises and plans of the cases that received money, judged now."""
    if not case_ids:
        return {}
    from doorstep.arrangements.models import PlanStatus, PromiseStatus, PromiseToPay, RepaymentPlan
    from doorstep.arrangements.services import arrangements_follow

    wanted = set(case_ids)
    with_promises = set(
        PromiseToPay.objects.filter(status__in=[PromiseStatus.PENDING, PromiseStatus.KEPT, PromiseStatus.PARTLY_KEPT, PromiseStatus.BROKEN])
        .values_list("case_id", flat=True)
        .distinct()
    )
    with_plans = set(RepaymentPlan.objects.filter(status=PlanStatus.ACTIVE).values_list("case_id", flat=True))
    relevant = sorted(wanted & (with_promises | with_plans))
    if not relevant:
        return {}
    return arrangements_follow(actor=actor, case_ids=relevant)
