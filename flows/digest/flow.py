"""The `send_digest` Prefect flow: plan the outbox rows due now, then deliver them in a task that Prefect retries on
temporary SMTP failures, on the outbox's backoff (never on bad settings); a digest still pending after those retries
gets a follow-up flow run of the same deployment at its next attempt time (issue 16, item 7); the run's summary is
published as an artifact."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.runtime import deployment as current_deployment

from flows.database import get_session_factory
from flows.digest.config import DigestConfigError, digest_timezone, mail_settings, min_period_for
from flows.digest.delivery import deliver_digests, plan_monitor_digests, retry_delay
from flows.digest.mailer import SMTPConfigError
from flows.settings import get_settings
from newsmon_errors import NewsmonError
from storage.digests import get_digest


class DeliveryPending(NewsmonError):
    """Some digests hit a temporary SMTP failure: they stay pending with a backoff (raised so Prefect retries)."""


def _worth_retrying(_task: Any, _task_run: Any, state: Any) -> bool:
    # Bad settings (535, no STARTTLS...) fail once; retrying them only hammers the server (docs/faults.md S2).
    return not isinstance(state.data, SMTPConfigError | DigestConfigError)


@task(name="plan-digests", cache_policy=NO_CACHE)
def plan_task(recipients: list[str], sender: str, now: datetime, min_period_seconds: float) -> list[int]:
    return plan_monitor_digests(
        get_session_factory(), recipients, sender=sender, now=now, min_period=timedelta(seconds=min_period_seconds)
    )


IN_RUN_RETRIES = 3
"""Retries of a temporary SMTP failure within the run, on the outbox's own backoff (1, 5 and 30 min by default): an
outage of minutes ends in the same run, not the next day's (issue 16, item 7); later steps wait for the next run."""


@task(name="deliver-digests", cache_policy=NO_CACHE, retry_condition_fn=_worth_retrying)
def deliver_task(digest_ids: list[int], nothing_new_note: bool) -> list[dict[str, Any]]:
    # Settings are read here, not passed in: task parameters are recorded by Prefect and the password must not be.
    settings = get_settings()
    reports = deliver_digests(
        get_session_factory(),
        digest_ids,
        mail=mail_settings(settings),
        tz=digest_timezone(settings),
        nothing_new_note=nothing_new_note,
        retry_base=timedelta(seconds=settings.digest_retry_seconds),
    )
    pending = [report for report in reports if report.status == "pending"]
    if pending:
        raise DeliveryPending("; ".join(report.line() for report in pending))
    return [asdict(report) for report in reports]


FOLLOW_UP_TAG = "digest-retry"


def schedule_follow_up(when: datetime, nothing_new_note: bool) -> str | None:
    """Schedule a run of this flow's deployment at `when` (the earliest next attempt of a pending digest), so delivery
    retries on its own backoff (2 h, then every 6 h by default) instead of waiting for the next day's scheduled run.
    Prefect's scheduler and workers run it: no timer of ours. The idempotency key makes the runs that hit the same
    outage schedule one follow-up between them. Returns the scheduled flow run's id; None outside a deployment (a
    `newsmon digest send` or a plain flow call), where the next run, scheduled or by hand, retries the digest."""
    deployment_id = current_deployment.id
    if not deployment_id:
        return None
    follow_up = run_deployment(  # a sync call from this sync flow: the FlowRun itself, not a coroutine
        deployment_id,
        parameters={"nothing_new_note": nothing_new_note},
        scheduled_time=when,
        flow_run_name=f"digest-retry-{when:%Y%m%d-%H%M%S}",
        timeout=0,
        as_subflow=False,
        tags=[FOLLOW_UP_TAG],
        idempotency_key=f"newsmon-digest-retry:{deployment_id}:{when.isoformat()}",
    )
    return str(cast(FlowRun, follow_up).id)


@flow(name="send_digest", validate_parameters=False)
def send_digest(nothing_new_note: bool = False) -> dict[str, Any]:
    """Email each recipient the digest of what is new since their last one; returns the run summary."""
    settings = get_settings()
    mail = mail_settings(settings)
    run_logger = get_run_logger()
    now = datetime.now(UTC)
    min_period = min_period_for(settings.digest_cron, settings.digest_timezone, now)
    ids = plan_task(list(mail.recipients), mail.sender, now, min_period.total_seconds())
    # Each retry comes when the rows it retries are due again: the backoff step after the attempt that failed.
    base = timedelta(seconds=settings.digest_retry_seconds)
    delays = [retry_delay(attempt, base).total_seconds() for attempt in range(1, IN_RUN_RETRIES + 1)]
    delivering = deliver_task.with_options(retries=IN_RUN_RETRIES, retry_delay_seconds=delays)
    state = delivering(ids, nothing_new_note, return_state=True)
    with get_session_factory().begin() as session:
        rows = [record for digest_id in ids if (record := get_digest(session, digest_id)) is not None]
    summary: dict[str, Any] = {
        "period_end": now.isoformat(),
        "digests": [
            {"recipient": r.recipient, "status": r.status, "stories": r.story_count, "error": r.last_error}
            for r in rows
        ],
    }
    line = ", ".join(f"{r.recipient}: {r.status}" for r in rows) or "nothing due"
    run_logger.info("digest run: %s", line)
    retry_times = [r.next_attempt_at for r in rows if r.status == "pending" and r.next_attempt_at is not None]
    if state.is_failed() and retry_times:
        when = min(retry_times)
        summary["follow_up_at"] = when.isoformat()
        summary["follow_up_run"] = schedule_follow_up(when, nothing_new_note)
        if summary["follow_up_run"]:
            run_logger.info("digest delivery retries at %s in a follow-up run of this deployment", when.isoformat())
        else:
            run_logger.info(
                "digest delivery retries after %s, at the next run (not a deployment run)", when.isoformat()
            )
    table = "\n".join(
        f"| {r.recipient} | {r.status} | {r.story_count} | {(r.last_error or '').replace('|', '/')} |" for r in rows
    )
    markdown = "| recipient | status | stories | error |\n|---|---|---|---|\n" + table
    create_markdown_artifact(key="digest-summary", markdown=markdown, description=line)
    if state.is_failed():
        state.result()  # re-raise the delivery error, now that the summary is recorded
    return summary
