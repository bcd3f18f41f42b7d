"""Run the background jobs a test's actions queued, in the test's own transaction.

The worker (``saraban worker``) would run them after the actions commit; a test has not
committed, so it runs them here, the same way the worker does (the task with its stored
arguments, then marked done). An exception in a job fails the test.
"""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult


def run_queued_jobs(*, ending: str = "") -> int:
    """Run every ready job (whose task path ends with ``ending``, if given); how many ran."""
    ran = 0
    while True:
        jobs = DBTaskResult.objects.ready().order_by("enqueued_at", "pk")
        if ending:
            jobs = jobs.filter(task_path__endswith=ending)
        job = jobs.first()
        if job is None:
            return ran
        job.claim("test")
        result = job.task_result
        job.set_successful(job.task.call(*result.args, **result.kwargs))
        ran += 1
