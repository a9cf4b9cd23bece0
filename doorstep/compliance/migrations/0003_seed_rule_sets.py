"""Version 1 of the CN, US, UK and IN rule sets, from the compliance rule table."""

from django.db import migrations


def seed(apps, schema_editor):
    from doorstep.compliance.catalogue import RULE_SETS

    RuleSet = apps.get_model("compliance", "RuleSet")
    Rule = apps.get_model("compliance", "Rule")
    for jurisdiction, rows in RULE_SETS.items():
        if RuleSet.objects.filter(jurisdiction=jurisdiction).exists():
            continue
        rule_set = RuleSet.objects.create(
            jurisdiction=jurisdiction, version=1, is_active=True, note="Initial rule table", created_by_label="system"
        )
        Rule.objects.bulk_create(
            Rule(
                rule_set=rule_set,
                rule_id=row["rule_id"],
                evaluator=row["check"],
                enabled=row.get("enabled", True),
                params=row["params"],
                overridable=row["overridable"],
                stage=row["stage"],
                confidence=row["confidence"],
                summary=row["summary"],
                source=row["source"],
            )
            for row in rows
        )


def unseed(apps, schema_editor):
    RuleSet = apps.get_model("compliance", "RuleSet")
    RuleSet.objects.filter(version=1, created_by_label="system").delete()


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_rule_sets_and_borrower_facts")]

    operations = [migrations.RunPython(seed, unseed)]
