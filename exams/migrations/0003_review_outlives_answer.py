"""Review rows keep their submission and question, so a regrade that replaces an answer no
longer deletes the TA decisions made on it."""
from django.db import migrations, models
import django.db.models.deletion


def fill_submission_and_question(apps, schema_editor):
    Review = apps.get_model("exams", "Review")
    for review in Review.objects.select_related("answer").iterator():
        review.submission_id = review.answer.submission_id
        review.question_id = review.answer.question_id
        review.save(update_fields=["submission", "question"])


class Migration(migrations.Migration):

    dependencies = [("exams", "0002_groups")]

    operations = [
        migrations.AddField(
            model_name="review", name="submission",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="reviews", to="exams.submission")),
        migrations.AddField(
            model_name="review", name="question",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="reviews", to="exams.question")),
        migrations.RunPython(fill_submission_and_question, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="review", name="submission",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                    related_name="reviews", to="exams.submission")),
        migrations.AlterField(
            model_name="review", name="question",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                    related_name="reviews", to="exams.question")),
        migrations.AlterField(
            model_name="review", name="answer",
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="reviews", to="exams.answer")),
    ]
