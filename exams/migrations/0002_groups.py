"""The `instructor` and `ta` groups with their model permissions.

Permissions are normally created by a post_migrate signal, i.e. after *all* migrations, so on
a fresh database they do not exist yet here: create them first. The lists mirror
exams.roles.GROUP_PERMISSIONS (copied, because migrations must not import live code that may
change later).
"""
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_PERMISSIONS = {
    "instructor": [
        "add_exam", "view_exam", "change_exam", "view_question",
        "view_submission", "change_submission", "view_answer", "change_answer",
        "view_review", "add_review", "view_examrole",
    ],
    "ta": [
        "view_exam", "view_question", "view_submission", "view_answer", "change_answer",
        "view_review", "add_review",
    ],
}


def create_groups(apps, schema_editor):
    app_config = apps.get_app_config("exams")
    app_config.models_module = True  # create_permissions skips apps without a models module
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="exams",
                                                         codename__in=codenames))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUP_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("exams", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
