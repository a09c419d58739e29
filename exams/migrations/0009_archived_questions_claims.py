"""Issue 18 (second half): a question dropped from the exam file is archived (``archived_at``)
instead of deleted, and a question with TA reviews can no longer be deleted on its own
(RESTRICT); a submission records which grading run holds its claim (``claimed_by``), so a task
retried after an outage takes its own claim back."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("exams", "0008_courses")]

    operations = [
        migrations.AddField(
            model_name="question",
            name="archived_at",
            field=models.DateTimeField(
                blank=True, db_index=True, null=True,
                help_text="When the question was dropped from the exam file (kept for its answers "
                          "and reviews; counts nowhere). Empty: the question is part of the exam."),
        ),
        migrations.AddField(
            model_name="submission",
            name="claimed_by",
            field=models.CharField(
                blank=True, editable=False, max_length=255,
                help_text="The grading run holding the claim (task id#try): a retry of that task "
                          "after an outage takes its claim back; anything else waits for the "
                          "sweep."),
        ),
        migrations.AlterField(
            model_name="review",
            name="question",
            field=models.ForeignKey(on_delete=django.db.models.deletion.RESTRICT,
                                    related_name="reviews", to="exams.question"),
        ),
    ]
