"""An exam's marking convention (the exam YAML's ``marking``): ``cross`` (the rule every exam
had so far, so existing exams keep it) or ``bubble``."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("exams", "0009_archived_questions_claims")]

    operations = [
        migrations.AddField(
            model_name="exam",
            name="marking",
            field=models.CharField(
                choices=[("cross", "cross"), ("bubble", "bubble")], default="cross",
                help_text="What a mark in a box means: cross (a crossed box is selected, a filled "
                          "one cancelled) or bubble (a filled bubble is selected).",
                max_length=8),
        ),
    ]
