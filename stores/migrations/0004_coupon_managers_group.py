"""The "Coupon managers" group: the model permissions staff need to run campaigns.

Members still see only the stores they are linked to (stores.StoreMembership).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Coupon managers"

PERMISSIONS = {
    "coupons": {
        "coupon": ["view", "add", "change", "delete"],
        # change_redemption: the "roll back" action (redemptions stay read-only).
        "redemption": ["view", "change"],
    },
    "customers": {"customer": ["view", "add", "change", "delete"]},
    "series": {"series": ["view", "add", "change"]},
    "assignments": {"assignment": ["view"]},
    "legacy": {
        "coupondefinition": ["view", "add", "change", "delete"],
        "coupontemplate": ["view", "add", "change", "delete"],
    },
    # change_job: the "retry" action.
    "jobs": {"job": ["view", "change"]},
    "stores": {"store": ["view"], "outlet": ["view"]},
    "audit": {"auditevent": ["view"]},
}


def create_group(apps, schema_editor):
    # Permissions are normally made after all migrations (post_migrate); make them
    # now so the group can hold them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    wanted = [
        (app_label, f"{action}_{model}")
        for app_label, models in PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]
    perms = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in wanted
    ]
    group.permissions.add(*perms)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0003_staff_store_membership"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("coupons", "0001_initial"),
        ("customers", "0001_initial"),
        ("series", "0001_initial"),
        ("assignments", "0001_initial"),
        ("legacy", "0001_initial"),
        ("jobs", "0001_initial"),
        ("audit", "0002_append_only_trigger"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
