import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_daily_figures"),
    ]

    operations = [
        migrations.CreateModel(
            name="PeriodicRun",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("job", models.CharField(max_length=64, verbose_name="任务")),
                ("period", models.DateTimeField(verbose_name="计划时间")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "排队中"),
                            ("running", "运行中"),
                            ("succeeded", "已完成"),
                            ("failed", "失败"),
                        ],
                        default="queued",
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="已运行次数")),
                ("queued_at", models.DateTimeField(verbose_name="排队时间")),
                (
                    "started_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="开始时间"),
                ),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="结束时间"),
                ),
                (
                    "next_attempt_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="下次重试时间"),
                ),
                ("last_error", models.TextField(blank=True, verbose_name="最近的错误")),
                ("outcome", models.CharField(blank=True, max_length=200, verbose_name="结果")),
            ],
            options={
                "verbose_name": "定时任务运行",
                "verbose_name_plural": "定时任务运行",
                "ordering": ["-period"],
                "indexes": [
                    models.Index(fields=["status", "next_attempt_at"], name="periodic_run_due")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("job", "period"), name="periodic_run_once_per_period"
                    )
                ],
            },
        ),
    ]
