"""Every duration and size of the fault suite, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class ChaosSettings:
    applications: int = 30
    """Applications per scenario, spread over every path."""
    seed: int = 7
    inject_faults: bool = True
    """False (``--no-faults``): the same run with no fault injected, which the
    verdict must fail for want of evidence; the suite's own check of itself."""

    # The expiring path: the shortest deadline the product allows, with two
    # reminders so that both can fall due while no worker runs.
    expiry_deadline: timedelta = timedelta(seconds=75)
    expiry_reminders_before: tuple[timedelta, ...] = (timedelta(seconds=55), timedelta(seconds=35))

    # People take their time: a random pause before each action (seconds), so
    # that at any moment of a fault applications wait in every phase.
    think_time: tuple[float, float] = (0.0, 8.0)
    # Longer while the dev server is being killed, so that its kills (and the
    # reminders and deadline of the expiring path) meet applications waiting.
    think_time_server_kill: tuple[float, float] = (0.0, 20.0)
    # Quick before the worker outage, so that it begins before the reminders of
    # the expiring path fall due.
    think_time_before_outage: tuple[float, float] = (0.0, 1.0)

    # Scenario 1: random worker kills while the applications are being driven,
    # each a random time after the restarted worker polls again; every one
    # must find an application open.
    worker_kills: int = 8
    worker_kill_after_polling: tuple[float, float] = (1.0, 5.0)
    # Each crash between a cutover's commit and its report costs the cutover's
    # full start-to-close timeout before the retry: a few prove the point.
    cutover_crashes: int = 4
    worker_restart_delay: timedelta = timedelta(seconds=1)

    # Scenario 2: how long no worker runs while people act.
    worker_outage: timedelta = timedelta(seconds=45)

    # Scenario 3: dev server kills, the first once the applications are busy,
    # the next this long after the server is back; each down this long.
    server_kills: int = 2
    server_kill_interval: timedelta = timedelta(seconds=20)
    server_outage: timedelta = timedelta(seconds=5)

    # Scenarios 3 and 4 strike once this share of the applications waits in an
    # open state (or after busy_within, whatever the share).
    busy_share: float = 0.5
    busy_within: timedelta = timedelta(seconds=60)

    # Scenario 4: how long the database stays locked. Longer than the partner
    # center's SQLite busy timeout (30 s), so waiting writes fail and are
    # retried rather than merely delayed.
    database_lock: timedelta = timedelta(seconds=40)
    # Scenario 4b: how long the PostgreSQL partner center is down (unreachable).
    database_down: timedelta = timedelta(seconds=30)

    # Everything must be terminal this long after the last fault; past it, an
    # application still open counts as stuck.
    settle_within: timedelta = timedelta(minutes=4)
    # A client call a worker must answer may wait this long (workers restart).
    answer_timeout: timedelta = timedelta(seconds=20)
    # Polling the database for each application's recorded status.
    poll_every: timedelta = timedelta(milliseconds=500)
    # How long to wait for a fresh reading of the open applications (the
    # database may just have come back).
    fresh_reading_within: timedelta = timedelta(seconds=30)
    server_ready_within: timedelta = timedelta(seconds=30)
