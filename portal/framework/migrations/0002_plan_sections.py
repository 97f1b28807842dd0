from django.db import migrations

from portal.framework.plan_sections import PLAN_SECTIONS


def load_plan_sections(apps, schema_editor):
    PlanSection = apps.get_model("framework", "PlanSection")
    for order, section in enumerate(PLAN_SECTIONS):
        PlanSection.objects.update_or_create(
            key=section.key,
            defaults={
                "title": section.title,
                "statutory_description": section.statutory_description,
                "sort_order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("framework", "0001_initial")]

    operations = [migrations.RunPython(load_plan_sections, migrations.RunPython.noop)]
