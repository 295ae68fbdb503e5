"""How often the process polls, checks and pauses (the end-to-end test passes faster ones,
so that it runs in seconds).

None of these are business rules (quota, delays between sends, debounce, follow-up silence
are settings); they are how eagerly the loops look for work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from salesbot.application.outbox.typing_pace import TypingPace


@dataclass(frozen=True)
class Timing:
    pool_refresh: float = 15.0
    """How often the pool follows the database and rebalances: a killed worker's accounts
    resume elsewhere within a minute (this + takeover_wait + the connect)."""
    lock_check: float = 2.0
    """How often the pool confirms its account locks with one ping (also the ping's bound)."""
    lock_lease: float = 10.0
    """How long the pool keeps running its accounts without a confirmed ping (counted from
    the ping's sending): past it, it disconnects them all, since its locks may be gone."""
    takeover_wait: float = 15.0
    """How long a process waits between taking an account's lock and connecting it. It
    must exceed lock_lease + lock_check + a disconnect: an old owner cut off from the
    database has stopped the session by then, so it is never live twice."""
    dispatcher_idle: float = 5.0
    dispatcher_supervise: float = 1.0
    typing: TypingPace = field(default_factory=TypingPace)
    send_gap_jitter: float = 0.2
    """Each gap between two sends of an account is MIN_MESSAGE_DELAY plus up to this share."""
    connect_timeout: float = 60.0
    """How long one account may take to connect before the pool moves on."""
    follow_up_interval: float = 300.0
    feeder_idle: float = 60.0
    """How often the campaign feeder looks for work when it has none (it is also woken when
    a campaign is created or resumed, and by the earliest free slot it knows of)."""
    feeder_resolve_interval: float = 60.0
    """The least time between two usernames one account resolves for a campaign (Telegram
    punishes quick resolves; application/campaigns/feeder.py RESOLVE_INTERVAL says why)."""
    database_grace: float = 300.0
    """How long the process waits out a database outage before it exits (systemd restarts
    it); also how long messages arriving meanwhile are held, unacknowledged, in memory."""
    update_state_flush: float = 5.0
    """How often the accounts' Telegram update states are written (a crash replays at most
    this much; what is stored already is not stored twice)."""
    database_ping_interval: float = 15.0
    notifier_window: float | None = None  # the notifier's own default
    election_interval: float = 5.0
    """How often a follower tries to take the admin bot's lead and the leader confirms it
    (a killed leader is replaced within about this much, plus the bot's start)."""
    ready_wait: float = 30.0
    """How long the ready line waits for every component before the degraded line names
    those not up (the ready line follows once they are)."""
    account_call_timeout: float = 60.0
    """How long a command waits for the process that runs an account to run its call (a
    username resolved, @SpamBot asked; issue 19): longer than an account's move to a new
    owner takes, so a call queued meanwhile is run by the next one."""
    account_call_poll: float = 5.0
    """How often the account calls are looked at when no notification came (a lost one
    costs at most this)."""
    census_interval: float = 5.0
    """How often the runner of account calls reads which accounts other processes run."""
