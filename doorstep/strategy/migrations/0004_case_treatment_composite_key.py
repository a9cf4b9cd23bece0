"""Case treatments keyed by (business date, case), with only what identifies the decision.

A million rows a day: the surrogate id, its sequence and index, the per-case index (a case's current
treatment is found through the key, on the latest run's date), the per-row foreign-key checks, and the columns that the deciding version
already states (rule name, path, script, reason) go. Treatments are decided again by the next
daily run, so the table is rebuilt rather than converted.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0001_initial"),
        ("strategy", "0003_treatment_why_from_version_leaner_indexes"),
    ]

    operations = [
        migrations.DeleteModel(name="CaseTreatment"),
        migrations.CreateModel(
            name="CaseTreatment",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "business_date", "case", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("business_date", models.DateField(verbose_name="business date")),
                (
                    "case",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="treatments",
                        to="portfolio.case",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="treatments",
                        to="strategy.strategyversion",
                    ),
                ),
                ("arm", models.CharField(default="champion", max_length=32, verbose_name="arm")),
                ("rule_key", models.CharField(blank=True, max_length=50, verbose_name="rule")),
                ("started_on", models.DateField(verbose_name="in this treatment since")),
                ("next_step", models.SmallIntegerField(blank=True, null=True, verbose_name="next step")),
                ("next_channel", models.CharField(blank=True, max_length=16, verbose_name="next channel")),
                ("next_priority", models.SmallIntegerField(blank=True, null=True, verbose_name="priority")),
                ("next_due_on", models.DateField(blank=True, null=True, verbose_name="next step due")),
            ],
            options={
                "verbose_name": "case treatment",
                "verbose_name_plural": "case treatments",
                "indexes": [
                    models.Index(fields=["version", "arm"], name="treatment_version_arm_idx"),
                ],
            },
        ),
    ]
