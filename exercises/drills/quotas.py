"""Drills: how long a client over its quota waits, and which quota applies."""

from kafkadojo.reference.quota_manager import DEFAULT, quota_limit, throttle_time_ms

from . import drill_kind
from ._cards import flashcards
from .picture import Picture


@drill_kind("quotas.throttle", "number", summary="the throttle time of a client over quota")
def throttle(rng, level):
    bound = rng.choice((1_000, 5_000, 10_000, 20_000))
    rate = bound * (1 + rng.randrange(5, 60 * level) / 100)
    window_ms = rng.choice((10_000, 10_500, 11_000))
    answer = throttle_time_ms(rate, bound, window_ms)
    return ((rate, bound, window_ms),
            f"A producer's measured rate is {rate:,.0f} B/s against a quota of {bound:,} B/s, "
            f"over a window of {window_ms:,} ms. How long is it throttled (ms)?",
            answer,
            "QuotaUtils.throttleTime: (rate - quota) / quota * window, rounded: the time for "
            "the rate to fall back to the quota.",
            Picture(rows=(
                ("(rate - quota) / quota", ((f"{(rate - bound) / bound:.4f}", "plain"),)),
                (f"x window {window_ms:,} ms", ((f"{(rate - bound) / bound * window_ms:.1f}",
                                                 "plain"),)),
                ("rounded", ((answer, "chosen"),))),
                legend=(("chosen", "the throttle time, ms"),)))


@drill_kind("quotas.which-quota", "number", summary="the quota that applies to a client")
def which_quota(rng, level):
    entities = [("alice", "app"), ("alice", DEFAULT), (DEFAULT, "app"), (DEFAULT, DEFAULT),
                ("alice", None), (DEFAULT, None), (None, "app"), (None, DEFAULT)]
    chosen = rng.sample(entities, 1 + level)
    quotas = {entity: 1_000 * (i + 1) for i, entity in enumerate(chosen)}
    answer = quota_limit(quotas, "alice", "app") or 0
    shown = ", ".join(f"{_entity(user, client)}: {bound}"
                      for (user, client), bound in quotas.items())
    return ((tuple(quotas.items()),),
            f"Quotas (bytes/s) are set for: {shown}. User alice connects with client id app. "
            f"Which bound applies? (0 if none does)",
            answer,
            "Most specific first: (user, client) > (user, <default>) > (<default>, client) > "
            "(<default>, <default>) > user > <default> user > client > <default> client.",
            Picture(rows=(("most specific first", tuple(
                (f"{_entity(*entity)}: {quotas[entity]}",
                 "chosen" if quotas[entity] == answer else "plain")
                for entity in entities if entity in quotas)),),
                    legend=(("chosen", "applies"),)))


def _entity(user, client):
    parts = [f"user={user}" if user is not None else "", f"client-id={client}"
             if client is not None else ""]
    return "(" + ", ".join(p for p in parts if p) + ")"


flashcards("quotas", (
    ("How does a broker throttle a client over its quota (KIP-219)?",
     "It answers the request at once with throttle_time_ms, then stops reading from that "
     "client's connection for that long; the client also holds back its requests to that "
     "broker until the time is over. A throttled fetch comes back empty."),
))
