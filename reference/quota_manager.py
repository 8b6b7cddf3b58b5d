"""Client quotas: how a broker keeps one client from taking everything (Kafka 3.9's
``ClientQuotaManager``, its ``DefaultQuotaCallback``, and the metrics library's ``Rate``).

A quota is a byte rate (``producer_byte_rate``, ``consumer_byte_rate``), or a share of
request handler time (``request_percentage``: ClientRequestQuotaManager), set for an *entity*:
a user, a client id, a (user, client id) pair, or their ``<default>``s. For a request the
broker first decides whose rate it counts in (``quota_metric_tags``): a quota set for a
user is shared by all that user's clients; a ``<default>`` quota gives each user (or
client) a rate of its own. Then it takes the most specific quota for that rate
(``quota_limit``):

    (user, client) > (user, <default>) > (<default>, client) > (<default>, <default>)
                   > user > <default> user > client > <default> client

The rate is measured over ``quota.window.num`` (11) windows of
``quota.window.size.seconds`` (1 s), as Kafka 3.9's ``SampledStat`` keeps them (samples + 1
of them since 3.8, each purged once its last event is ``samples`` windows old), and divided
by the time they span, padded to at least ``samples - 1`` whole windows (a first burst is
spread over 10 s, not one). A request that takes the rate strictly above the quota is not
refused: the broker answers it at once with a ``throttle_time_ms`` (KIP-219) and then
ignores that client for that long; the client, too, waits it out before sending again.
The throttle time is ``round((rate - quota) / quota * window)``: the time it takes for the
rate to come back down to the quota. A throttled fetch returns no data.

The rules here (``quota_metric_tags``, ``quota_limit``, ``throttle_time_ms``) are exercises:
the quota managers call them through their broker's seams.
"""

import math
from typing import NamedTuple

from . import errors

DEFAULT = "<default>"
UNLIMITED = float(2**63 - 1)        # Long.MAX_VALUE: no quota
QUOTA_NAMES = ("producer_byte_rate", "consumer_byte_rate", "request_percentage")


def quota_limit(quotas, user_tag, client_tag):
    """The quota for a rate whose tags are ``(user_tag, client_tag)`` (what
    ``quota_metric_tags`` chose; "" for a side that is shared), or None: Kafka's
    ``DefaultQuotaCallback.quotaLimit``. ``quotas`` maps entities to bounds; an entity is
    ``(user, client_id)`` with None for a side it does not name and ``"<default>"`` for a
    default: ``("alice", None)`` is alice's user quota, ``(None, "<default>")`` the default
    client-id quota, ``("alice", "<default>")`` that of each of alice's clients. The first
    entity that has a quota decides:

    - both tags set: (user, client), (user, <default>), (<default>, client),
      (<default>, <default>);
    - only the user tag: (user), then (<default> user);
    - only the client tag: (client), then (<default> client);
    - neither: no quota.
    """
    if user_tag and client_tag:
        entities = ((user_tag, client_tag), (user_tag, DEFAULT), (DEFAULT, client_tag),
                    (DEFAULT, DEFAULT))
    elif user_tag:
        entities = ((user_tag, None), (DEFAULT, None))
    elif client_tag:
        entities = ((None, client_tag), (None, DEFAULT))
    else:
        entities = ()
    for entity in entities:
        if entity in quotas:
            return quotas[entity]
    return None


def quota_metric_tags(quotas, user, client_id):
    """Whose rate a request counts in (``DefaultQuotaCallback.quotaMetricTags``, when quotas
    of several kinds exist): ``(user tag, client-id tag)``, "" for a side that is shared.
    A quota set for the user alone is shared by all its clients: ``(user, "")``."""
    for entity, tags in (((user, client_id), (user, client_id)),
                         ((user, DEFAULT), (user, client_id)),
                         ((user, None), (user, "")),
                         ((DEFAULT, client_id), (user, client_id)),
                         ((DEFAULT, DEFAULT), (user, client_id)),
                         ((DEFAULT, None), (user, ""))):
        if entity in quotas:
            return tags
    return ("", client_id)


def throttle_time_ms(rate, bound, window_ms):
    """How long a client over its quota waits (``QuotaUtils.throttleTime``): the time for the
    measured ``rate`` (per second) to fall back to ``bound`` over the measurement window of
    ``window_ms``: ``(rate - bound) / bound * window_ms``, rounded as Java's Math.round
    does (halves up, not to even), and never negative here (the broker asks only when the
    rate is over the bound)."""
    return max(0, math.floor((rate - bound) / bound * window_ms + 0.5))


class _Sample:
    __slots__ = ("start_ms", "last_event_ms", "value")

    def __init__(self, now):
        self.reset(now)

    def reset(self, now):
        self.start_ms = self.last_event_ms = now
        self.value = 0.0


class Rate:
    """A rate per second over sampled windows (Kafka 3.9's ``Rate`` over ``WindowedSum``)."""

    def __init__(self, samples, window_ms):
        self.samples, self.window_ms = samples, window_ms
        self.ring = []
        self.current = 0

    def record(self, value, now):
        if not self.ring:
            self.ring.append(_Sample(now))
        sample = self.ring[self.current]
        if now - sample.start_ms >= self.window_ms:
            self.current = (self.current + 1) % (self.samples + 1)
            if self.current >= len(self.ring):
                self.ring.append(_Sample(now))
            sample = self.ring[self.current]
            sample.reset(now)
        sample.value += value
        sample.last_event_ms = now

    def purge(self, now):
        for sample in self.ring:
            if now - sample.last_event_ms >= self.samples * self.window_ms:
                sample.reset(now)

    def window_size_ms(self, now):
        """The time the samples span, padded to ``samples - 1`` whole windows, at least 1."""
        self.purge(now)
        if not self.ring:
            self.ring.append(_Sample(now))
        total = now - min(sample.start_ms for sample in self.ring)
        whole = total // self.window_ms
        if whole < self.samples - 1:
            total += (self.samples - 1 - whole) * self.window_ms
        return max(total, 1)

    def measure(self, now):
        window = self.window_size_ms(now)
        return sum(sample.value for sample in self.ring) / (window / 1000.0)


class Throttle(NamedTuple):
    throttle_time_ms: int
    rate: float
    bound: float


class ClientQuotaManager:
    """One per broker and quota type (produce, fetch): the quotas, and a rate per sharing
    group of clients."""

    def __init__(self, broker, quota_name):
        self.broker = broker
        self.quota_name = quota_name
        self.rates = {}             # (user tag, client tag) -> Rate

    def rate_for(self, tags):
        rate = self.rates.get(tags)
        if rate is None:
            config = self.broker.config
            rate = self.rates[tags] = Rate(config["quota.window.num"],
                                           config["quota.window.size.seconds"] * 1000)
        return rate

    def quotas(self):
        return {entity: values[self.quota_name]
                for entity, values in self.broker.cluster.client_quotas.items()
                if self.quota_name in values}

    def record(self, user, client_id, value, now):
        """Record ``value`` (bytes) and answer how long to throttle (0: within the quota).
        The value counts even when it takes the client over its quota."""
        quotas = self.quotas()
        if not quotas:
            return Throttle(0, 0.0, UNLIMITED)      # no quota anywhere: nothing is recorded
        tags = self.tags(quotas, user, client_id)
        bound = self.broker.seams.quota_limit(quotas, *tags)
        rate = self.rate_for(tags)
        rate.record(value, now)
        if bound is None:
            return Throttle(0, 0.0, UNLIMITED)
        measured = rate.measure(now)
        if measured <= bound:
            return Throttle(0, measured, bound)
        delay = self.broker.seams.throttle_time_ms(measured, bound, rate.window_size_ms(now))
        if type(delay) is not int or delay < 0:
            raise errors.InvalidRequestError(f"throttle_time_ms answered {delay!r}: a "
                                             f"throttle time is a whole number of ms >= 0")
        return Throttle(self.bounded(delay), measured, bound)

    def bounded(self, delay):
        return delay

    def unrecord(self, user, client_id, value, now):
        """A throttled fetch returned nothing: its bytes come off the rate."""
        quotas = self.quotas()
        if quotas:
            self.rate_for(self.tags(quotas, user, client_id)).record(-value, now)

    def tags(self, quotas, user, client_id):
        """Whose rate it is, by the rule ``quota_metric_tags`` (a seam)."""
        tags = self.broker.seams.quota_metric_tags(quotas, user, client_id)
        if not (isinstance(tags, (tuple, list)) and len(tags) == 2
                and all(isinstance(tag, str) for tag in tags)):
            raise errors.InvalidRequestError(f"quota_metric_tags answered {tags!r}, not a "
                                             f"(user tag, client tag) pair of strings")
        return tuple(tags)


class ClientRequestQuotaManager(ClientQuotaManager):
    """Request quotas (``request_percentage``, KIP-124): a share of the broker's request
    handler time, in percent of one thread (200 = two threads' worth). What is recorded is
    a request's handler time as a percentage-second (``percentage``), so the rate is the
    percentage of a thread the client kept busy. One spike is throttled for at most one
    quota window (``QuotaUtils.boundedThrottleTime``): the time spent is already spent."""

    def __init__(self, broker):
        super().__init__(broker, "request_percentage")

    @staticmethod
    def percentage(handler_ms):
        """Kafka's nanosToPercentage, from milliseconds: 10 ms of a thread is 1 (%·s)."""
        return handler_ms * 100 / 1000

    def bounded(self, delay):
        return min(delay, self.broker.config["quota.window.size.seconds"] * 1000)
