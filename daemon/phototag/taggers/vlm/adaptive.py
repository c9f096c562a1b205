"""How many requests to keep open at a VLM server: found by measuring, not configured.

:class:`AdaptiveLimit` is a pure decision core (the clock is passed in); :class:`Slots` is
the thin thread-safe shell the tagger sends through. The limit moves in two phases, as a
TCP connection's window does:

- **startup** (TCP slow start): every answer that came back without queueing (latency
  within 1.5x the lowest seen) adds two, so the limit triples each round trip, until
  three answers in a row queue; the limit then goes back to the concurrency the last of
  them was sent at;
- **probing** (hill climbing on throughput, by Little's law ``X = N / R``): rounds of at
  least ``max(8, limit)`` answers (the first ``limit / 2`` answers at a new level left
  out, while the server's queue settles) measure the mean requests in flight ``N`` and
  the mean latency ``R``. After a few rounds at one level the limit tries a step (a
  quarter) up or down, and keeps the higher of two levels only when it paid: when the
  throughput rose by at least :data:`GAIN` of the rise in concurrency. Past a server's
  slots extra requests only queue (gain 0); a batching GPU whose latency grows with its
  batch still pays (gain 0.5 at a full batch for latency ``base x (1 + active / slots)``),
  so a latency target alone (Vegas, gradient) would stop too early there, and this does
  not. The first probe after the startup goes up (free: more requests only queue), and a
  probe down that did not pay doubles the wait before the next one (it costs throughput).

Overload (HTTP 429 or 503, a timeout) cuts the limit at once to 3/4, at most once per
level, and puts a ceiling one below the concurrency that overloaded for
:data:`CEILING_S`: a server that refuses above a threshold is probed again only that
often. ``least == most`` fixes the limit (a number in ``vlm.max_inflight``).

Rate-limit headers (OpenAI's ``x-ratelimit-remaining-requests`` / ``-tokens`` and their
``-reset-`` partners) and ``Retry-After`` hold new requests back in :class:`Slots`; they
are facts about a quota, not about capacity, so they do not move the limit.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from phototag.config import VlmSettings
from phototag.errors import BackendUnavailable

INITIAL_LIMIT = 8  # where "auto" starts: a small server queues 8 briefly, a big one ramps
GAIN = 0.1  # a higher level must add >= 10 % of its relative concurrency as throughput
STEP = 0.25  # a probe moves the limit by a quarter (at least 1)
HOLD_ROUNDS = 3  # rounds at a level before the next probe
MOST_HOLD_ROUNDS = 48  # a probe down costs throughput: each refused one doubles the hold
MIN_ROUND = 8  # answers in a round at least: fewer are too noisy to compare levels
STARTUP_QUEUE = 1.5  # latency over the lowest seen that ends the startup
STARTUP_GROWTH = 2  # added per answer in the startup: the limit triples each round trip
STARTUP_QUEUED = 3  # slow answers in a row that end it: one is noise on a busy machine
BACKOFF = 0.75  # the cut on overload
CEILING_S = 60.0  # how long a concurrency that overloaded is not tried again
APP_LIMITED = 0.8  # fewer in flight than this share of the limit: demand, not the server
LATENCY_WEIGHT = 0.1  # of each answer in the smoothed latency


class Signal(StrEnum):
    """What one request's end says about the server's capacity."""

    OK = "ok"  # answered (any answer the server produced by working on it)
    OVERLOAD = "overload"  # 429 or 503: too many at once
    TIMEOUT = "timeout"  # no answer in vlm.timeout_s
    FAILED = "failed"  # anything else: says nothing about capacity


class Phase(StrEnum):
    FIXED = "fixed"  # vlm.max_inflight is a number
    STARTUP = "startup"
    PROBING = "probing"


@dataclass(frozen=True, slots=True)
class Ticket:
    """Issued when a request starts; handed back with its end."""

    sent_at: float
    inflight: int  # requests open when it started, itself included
    epoch: int  # the level it was sent under


@dataclass(frozen=True, slots=True)
class Change:
    old: int
    new: int
    reason: str
    cut: bool = False  # an overload cut it, rather than a measurement


@dataclass(frozen=True, slots=True)
class _Level:
    limit: int
    inflight: float  # mean requests open (N)
    throughput: float  # N / R, answers a second


class AdaptiveLimit:
    """The limit and how it moves. Not thread-safe: :class:`Slots` holds the lock."""

    def __init__(self, *, initial: int, least: int, most: int) -> None:
        if not 1 <= least <= most:
            raise ValueError(f"need 1 <= least <= most, got {least}, {most}")
        self.least, self.most = least, most
        self._limit = min(most, max(least, initial))
        self.phase = Phase.FIXED if least == most else Phase.STARTUP
        self.latency_s: float | None = None  # smoothed, of answers that steer
        self._lowest_s = math.inf
        self._queued = 0  # answers in a row slower than STARTUP_QUEUE x the lowest
        self._epoch = 0
        self._round_n = 0
        self._round_rtt_s = 0.0
        self._round_inflight = 0
        self._settling = 0  # answers at a new level left out of its first round
        self._from: _Level | None = None  # the level a probe left
        self._direction = 0  # of the probe under way; 0 while holding
        self._next_direction = -1  # of the next probe
        self._held = 0
        self._hold_rounds = {1: HOLD_ROUNDS, -1: HOLD_ROUNDS}  # before a probe that way
        self._ceiling = most
        self._ceiling_until = -math.inf

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def epoch(self) -> int:
        return self._epoch

    def ceiling(self, now: float) -> int:
        return self._ceiling if now < self._ceiling_until else self.most

    def sample(self, ticket: Ticket, *, signal: Signal, now: float) -> Change | None:
        """Learn from one request's end; the change of limit it causes, if any."""
        if signal is Signal.FAILED:
            return None
        if signal is not Signal.OK:
            return self._overload(ticket, signal=signal, now=now)
        rtt_s = max(0.0, now - ticket.sent_at)
        self._lowest_s = min(self._lowest_s, rtt_s)
        self.latency_s = (
            rtt_s
            if self.latency_s is None
            else (1 - LATENCY_WEIGHT) * self.latency_s + LATENCY_WEIGHT * rtt_s
        )
        if self.phase is Phase.FIXED:
            return None
        if self.phase is Phase.STARTUP:
            return self._startup(ticket, rtt_s=rtt_s, now=now)
        if ticket.epoch != self._epoch:
            return None  # sent under another level: says nothing about this one
        if self._settling > 0:  # the server's queue is still growing or draining to
            self._settling -= 1  # this level: the first answers would flatter a rise
            return None
        self._round_n += 1
        self._round_rtt_s += rtt_s
        self._round_inflight += ticket.inflight
        if self._round_n < max(MIN_ROUND, self._limit):
            return None
        here = _Level(
            limit=self._limit,
            inflight=self._round_inflight / self._round_n,
            throughput=self._round_inflight / max(self._round_rtt_s, 1e-9),
        )
        self._new_round()
        if here.inflight < APP_LIMITED * self._limit:
            return None  # fewer photos ready than the limit allows: nothing to learn
        return self._judge(here, now=now)

    # --- the phases ---

    def _startup(self, ticket: Ticket, *, rtt_s: float, now: float) -> Change | None:
        if rtt_s <= STARTUP_QUEUE * self._lowest_s:
            self._queued = 0
        else:
            self._queued += 1
        if self._queued >= STARTUP_QUEUED:
            self.phase = Phase.PROBING
            # the latency rose: a queue, or a batch that grows slower and still pays. Back
            # to the concurrency this answer was sent at (slow start overshoots by up to a
            # round trip, as in TCP's HyStart), one round there, then a probe up: it costs
            # no throughput and tells the two apart
            self._hold(next_direction=1, held=HOLD_ROUNDS - 1)
            return self._move(ticket.inflight, reason="startup: the answers queue", now=now)
        if 2 * ticket.inflight < self._limit:
            return None  # demand-limited: growing would prove nothing
        # one level through the startup: a burst of refusals at its end is cut once
        return self._move(self._limit + STARTUP_GROWTH, reason="startup", now=now, same_level=True)

    def _judge(self, here: _Level, *, now: float) -> Change | None:
        if self._direction == 0:
            self._held += 1
            if self._held < self._hold_rounds[self._next_direction]:
                return None
            direction = self._next_direction
            target = self._step(direction, now=now)
            if target == self._limit:  # at a bound (the cap, a ceiling, 1): the other way
                direction = -direction
                target = self._step(direction, now=now)
                if target == self._limit:  # pinned (a ceiling at 1): nothing to probe
                    self._hold(next_direction=direction)
                    return None
            self._from, self._direction = here, direction
            return self._move(target, reason="probe", now=now)
        before = self._from
        assert before is not None
        went = here.inflight / before.inflight - 1
        gain = (here.throughput / before.throughput - 1) / went if abs(went) > 0.02 else 0.0
        up = self._direction > 0
        if up == (gain >= GAIN):  # up and it paid, or down and it cost little: go on
            self._hold_rounds[self._direction] = HOLD_ROUNDS
            target = self._step(self._direction, now=now)
            if target == self._limit:
                self._hold(next_direction=-self._direction)
                return None
            self._from = here
            why = f"gain {gain:.2f} {'>=' if up else '<'} {GAIN}"
            return self._move(target, reason=f"probe ({why}), further", now=now)
        refused = self._direction
        self._hold_rounds[refused] = min(MOST_HOLD_ROUNDS, 2 * self._hold_rounds[refused])
        self._hold(next_direction=-refused)
        return self._move(before.limit, reason=f"probe back (gain {gain:.2f})", now=now)

    def _overload(self, ticket: Ticket, *, signal: Signal, now: float) -> Change | None:
        self._ceiling = max(self.least, min(self.ceiling(now), ticket.inflight - 1))
        self._ceiling_until = now + CEILING_S
        if self.phase is Phase.FIXED or ticket.epoch != self._epoch:
            return None  # once per level: a burst of refusals is one event
        self.phase = Phase.PROBING
        self._hold(next_direction=-1)
        new = min(self._ceiling, math.floor(self._limit * BACKOFF))
        return self._move(new, reason=f"{signal} at {ticket.inflight} in flight", now=now, cut=True)

    # --- helpers ---

    def _step(self, direction: int, *, now: float) -> int:
        step = max(1, round(self._limit * STEP))
        top = self.ceiling(now)
        return max(self.least, min(top, self._limit + direction * step))

    def _hold(self, *, next_direction: int, held: int = 0) -> None:
        self._direction, self._next_direction, self._held = 0, next_direction, held
        self._new_round()

    def _new_round(self) -> None:
        self._round_n, self._round_rtt_s, self._round_inflight = 0, 0.0, 0

    def _move(
        self, new: int, *, reason: str, now: float, same_level: bool = False, cut: bool = False
    ) -> Change | None:
        new = max(self.least, min(self.ceiling(now), new))
        if new == self._limit:
            return None
        change = Change(old=self._limit, new=new, reason=reason, cut=cut)
        self._limit = new
        if not same_level:
            self._epoch += 1
            self._new_round()
            self._settling = new // 2
        return change


def most_inflight(vlm: VlmSettings) -> int:
    """The most requests a tagger may keep open: the fixed number, or the cap."""
    return vlm.max_inflight_cap if vlm.max_inflight == "auto" else vlm.max_inflight


def worth_logging(logged: int, new: int) -> bool:
    """Whether a new limit is far enough from the last one logged (half again, or half,
    and at least 2) to be worth a log line."""
    return abs(new - logged) >= max(2, logged / 2)


# --- rate-limit headers --------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_reset_s(value: str | None) -> float | None:
    """OpenAI's reset durations ("20ms", "1s", "6m0s", "1h2m3.5s") or plain seconds."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


@dataclass(frozen=True, slots=True)
class Quota:
    """Requests the server will still take before ``reset_s`` from now, and in each window
    after (None if it does not say)."""

    requests: int
    reset_s: float
    per_window: int | None = None


def quota_from_headers(headers: Mapping[str, str], *, tokens_per_request: int) -> Quota | None:
    """The tighter of the request and token quotas the answer reports; None if it reports
    neither (local servers). A token quota counts as requests of ``tokens_per_request``
    (OpenAI counts ``max_tokens`` against it when a request arrives)."""
    found: list[Quota] = []
    for kind, per in (("requests", 1), ("tokens", max(1, tokens_per_request))):
        left = _count(headers.get(f"x-ratelimit-remaining-{kind}"))
        reset_s = parse_reset_s(headers.get(f"x-ratelimit-reset-{kind}"))
        if left is not None and reset_s is not None:
            window = _count(headers.get(f"x-ratelimit-limit-{kind}"))
            found.append(
                Quota(
                    requests=max(0, left) // per,
                    reset_s=reset_s,
                    per_window=None if window is None else max(1, window // per),
                )
            )
    return min(found, key=lambda q: (q.requests, -q.reset_s)) if found else None


def _count(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


# --- the shell -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotsStatus:
    """What ``tagctl status`` and the metrics show of one server's concurrency."""

    mode: str  # "auto" or "fixed"
    phase: Phase
    limit: int
    cap: int
    in_flight: int
    latency_s: float | None
    held_s: float  # how long new requests still wait for a quota or Retry-After

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "phase": str(self.phase),
            "limit": self.limit,
            "cap": self.cap,
            "in_flight": self.in_flight,
            "latency_s": None if self.latency_s is None else round(self.latency_s, 4),
            "held_s": round(self.held_s, 3),
        }


class Slots:
    """Admits requests up to the limit; thread-safe. ``acquire`` blocks until a request
    may start (a free slot, no quota or Retry-After hold); ``release`` reports its end."""

    def __init__(
        self,
        *,
        limit: AdaptiveLimit,
        on_change: Callable[[Change], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._on_change = on_change
        self._clock = clock
        self._cond = threading.Condition()
        self._inflight = 0
        self._hold_until = -math.inf
        self._budget: int | None = None  # requests the quota still allows, if known
        self._budget_until = math.inf  # its reset
        self._refill: int | None = None  # the quota of a whole window, if known
        self._closed = False

    @property
    def limit(self) -> int:
        return self._limit.limit

    def acquire(self) -> Ticket:
        with self._cond:
            while True:
                if self._closed:
                    raise BackendUnavailable("the tagger is closed")
                now = self._clock()
                if self._budget is not None and now >= self._budget_until:
                    # a new window: as much as a window allows, until an answer says more
                    self._budget, self._budget_until = self._refill, math.inf
                until = max(self._hold_until, self._budget_until if self._budget == 0 else now)
                if until > now:  # an exhausted quota with no reset known waits for answers
                    self._cond.wait(None if until == math.inf else until - now)
                elif self._inflight >= self._limit.limit:
                    self._cond.wait()
                else:
                    break
            self._inflight += 1
            if self._budget is not None:
                self._budget -= 1
            return Ticket(sent_at=now, inflight=self._inflight, epoch=self._limit.epoch)

    def release(
        self,
        ticket: Ticket,
        *,
        signal: Signal,
        steer: bool = True,
        quota: Quota | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """``steer`` False: the request (a probe, a repair) is not like the others, so its
        latency says nothing about the tagging requests'."""
        with self._cond:
            now = self._clock()
            self._inflight -= 1
            if retry_after_s is not None:  # the server asked everyone to wait
                self._hold_until = max(self._hold_until, now + retry_after_s)
            if quota is not None:
                self._count_quota(quota, now=now)
            change = self._limit.sample(ticket, signal=signal, now=now) if steer else None
            self._cond.notify_all()
        if change is not None:
            self._on_change(change)

    def _count_quota(self, quota: Quota, *, now: float) -> None:
        # the others still open may not have been counted in it yet: count them as if not
        budget = max(0, quota.requests - self._inflight)
        until = now + quota.reset_s
        if self._budget is not None and now < self._budget_until:
            # the same window: requests overtake each other on the way, so a report can
            # be older than the one in force; within a window a quota only shrinks
            budget = min(budget, self._budget)
            if self._budget_until != math.inf:
                until = max(until, self._budget_until)
        self._budget, self._budget_until, self._refill = budget, until, quota.per_window

    def status(self, *, mode: str) -> SlotsStatus:
        with self._cond:
            now = self._clock()
            held = max(self._hold_until, self._budget_until if self._budget == 0 else now)
            if held == math.inf:
                held = now  # waiting for answers, not for a time
            return SlotsStatus(
                mode=mode,
                phase=self._limit.phase,
                limit=self._limit.limit,
                cap=self._limit.most,
                in_flight=self._inflight,
                latency_s=self._limit.latency_s,
                held_s=max(0.0, held - now),
            )

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
