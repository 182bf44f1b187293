"""The in-process wake-ups the dispatcher and the notification long polls wait on."""

import asyncio

from daemon.events import Events


async def test_jobs_changed_wakes_the_waiter_once() -> None:
    events = Events()
    assert await events.wait_jobs_changed(0.01) is False
    events.jobs_changed()  # set before anyone waits: not lost
    assert await events.wait_jobs_changed(1) is True
    assert await events.wait_jobs_changed(0.01) is False  # consumed


async def test_notifications_wake_every_waiter_of_that_platform() -> None:
    events = Events()
    waiters = [asyncio.create_task(events.wait_notifications("telegram", 2)) for _ in range(3)]
    other = asyncio.create_task(events.wait_notifications("discord", 0.2))
    await asyncio.sleep(0.01)
    events.notifications_added("telegram")
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert await other is False


async def test_a_fire_between_check_and_wait_is_not_missed() -> None:
    events = Events()
    seen = events.notifications_generation("telegram")
    events.notifications_added("telegram")  # e.g. while the poll was reading the database
    assert await events.wait_notifications("telegram", 0.01, after=seen) is True
    now = events.notifications_generation("telegram")
    assert await events.wait_notifications("telegram", 0.01, after=now) is False


async def test_a_job_update_wakes_every_monitor() -> None:
    events = Events()
    seen = events.job_updates_generation()
    monitors = [asyncio.create_task(events.wait_job_updated(2, after=seen)) for _ in range(2)]
    await asyncio.sleep(0.01)
    events.jobs_changed()  # a submit, cancel or requeue is a job update too
    assert await asyncio.gather(*monitors) == [True, True]
    now = events.job_updates_generation()
    assert await events.wait_job_updated(0.01, after=now) is False
