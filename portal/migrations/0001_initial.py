"""The search table, taken over from catalog (its migration 0016): state only, as the table
exists under the name it keeps (catalog_searchentry)."""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('catalog', '0016_searchentry_to_portal'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='SearchEntry',
                    fields=[
                        ('model', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='search_entry', serialize=False, to='catalog.hubmodel')),
                        ('repo_id', models.CharField(max_length=200)),
                        ('author', models.CharField(blank=True, max_length=100)),
                        ('summary', models.CharField(blank=True, max_length=300)),
                        ('words', models.TextField(blank=True, default='')),
                        ('downloads', models.BigIntegerField(default=0)),
                        ('likes', models.IntegerField(default=0)),
                        ('last_modified', models.DateTimeField(blank=True, null=True)),
                        ('base_relation', models.CharField(blank=True, max_length=12)),
                        ('base_family', models.CharField(blank=True, max_length=200)),
                        ('pipeline_tag', models.CharField(blank=True, max_length=100)),
                        ('library_name', models.CharField(blank=True, max_length=100)),
                        ('weights_format', models.CharField(blank=True, max_length=16)),
                        ('gated', models.CharField(blank=True, max_length=8)),
                        ('param_bucket', models.CharField(blank=True, max_length=8)),
                        ('memory_gb', models.FloatField(blank=True, null=True)),
                        ('params_source', models.CharField(blank=True, max_length=8)),
                        ('declared', models.CharField(blank=True, max_length=80)),
                        ('verdict', models.CharField(blank=True, max_length=12)),
                        ('effective', models.CharField(blank=True, max_length=12)),
                        ('conflict', models.BooleanField(null=True)),
                    ],
                    options={
                        'verbose_name_plural': 'search entries',
                        'db_table': 'catalog_searchentry',
                        'indexes': [models.Index(fields=['-downloads', 'model'], name='search_downloads_idx'), models.Index(fields=['-likes', 'model'], name='search_likes_idx'), models.Index(fields=['-last_modified', 'model'], name='search_modified_idx'), models.Index(fields=['author', '-downloads'], name='search_author_idx'), models.Index(fields=['base_family', '-downloads'], name='search_family_idx'), models.Index(fields=['base_relation', '-downloads'], name='search_relation_idx'), models.Index(fields=['weights_format', '-downloads'], name='search_format_idx'), models.Index(fields=['pipeline_tag', '-downloads'], name='search_task_idx'), models.Index(fields=['library_name', '-downloads'], name='search_library_idx'), models.Index(fields=['declared', '-downloads'], name='search_license_idx'), models.Index(fields=['effective', '-downloads'], name='search_effective_idx'), models.Index(fields=['verdict', '-downloads'], name='search_verdict_idx'), models.Index(fields=['param_bucket'], name='search_bucket_idx'), models.Index(fields=['memory_gb'], name='search_memory_idx'), models.Index(fields=['gated'], name='search_gated_idx'), models.Index(django.db.models.functions.text.Upper('repo_id'), name='search_repo_upper_idx')],
                    },
                ),
            ],
        ),
    ]
