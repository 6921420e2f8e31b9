"""Indexes for the jobs admin's filters, each in the list's order (newest first):
by kind and by store (issue 22). The store's own foreign-key index stays (the
cascade from a store reads it)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]

    operations = [
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["kind", "id"], name="job_kind_idx"),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["store", "id"], name="job_store_id_idx"),
        ),
    ]
