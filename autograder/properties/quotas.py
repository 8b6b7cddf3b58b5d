"""Hidden properties: client quotas (whose rate, which quota, how long to wait)."""

import math

from hypothesis import strategies as st

from kafkadojo.reference import quota_manager
from kafkadojo.reference.quota_manager import DEFAULT
from kafkadojo.reference.workload import run_quotas

from . import differential, examples, known_mistakes, prop
from .engine import workload_runs
from .log import mutant

# ClientQuotaManagerTest.testQuotaConfigPrecedence's quotas
PRECEDENCE = {(DEFAULT, None): 1000, (None, DEFAULT): 2000, (DEFAULT, DEFAULT): 3000,
              ("userA", None): 4000, ("userA", "client1"): 5000, ("userB", None): 6000,
              ("userB", "client1"): 7000, ("userB", DEFAULT): 8000, ("userC", None): 10000,
              (None, "client1"): 9000}
WITHOUT_DEFAULT_PAIR = {k: v for k, v in PRECEDENCE.items() if k != (DEFAULT, DEFAULT)}
CLIENTS_ONLY = {k: v for k, v in WITHOUT_DEFAULT_PAIR.items() if k != (DEFAULT, None)}

# -- quota_metric_tags -------------------------------------------------------------------------
TAG_CASES = [
    # ClientQuotaManagerTest.testQuotaConfigPrecedence, the sensor each check counts in
    ((PRECEDENCE, "userA", "client1"), ("userA", "client1")),
    ((PRECEDENCE, "userA", "client2"), ("userA", "")),
    ((PRECEDENCE, "userB", "client2"), ("userB", "client2")),
    ((PRECEDENCE, "userD", "client1"), ("userD", "client1")),
    ((WITHOUT_DEFAULT_PAIR, "userD", "client1"), ("userD", "")),
    ((WITHOUT_DEFAULT_PAIR, "userF", "client5"), ("userF", "")),
    ((CLIENTS_ONLY, "userF", "client5"), ("", "client5")),
    (({}, "userA", "client1"), ("", "client1")),
]
TAG_MISTAKES = (
    ("user-quota-not-shared", mutant(quota_manager.quota_metric_tags, (
        "((user, None), (user, \"\")),", "((user, None), (user, client_id)),"))),
    ("default-user-quota-not-per-user", mutant(quota_manager.quota_metric_tags, (
        "((DEFAULT, None), (user, \"\"))", "((DEFAULT, None), (\"\", \"\"))"))),
)
name_tags = known_mistakes(*TAG_MISTAKES)
USERS = ["userA", "userB", "userD"]
CLIENTS = ["client1", "client2"]
ENTITIES = ([(u, c) for u in USERS + [DEFAULT] for c in CLIENTS + [DEFAULT, None]]
            + [(None, c) for c in CLIENTS + [DEFAULT]])


@st.composite
def quotas_and_client(draw):
    chosen = draw(st.lists(st.sampled_from(ENTITIES), max_size=6, unique=True))
    quotas = {entity: draw(st.sampled_from([500, 1000, 2000, 4000])) for entity in chosen}
    return quotas, draw(st.sampled_from(USERS)), draw(st.sampled_from(CLIENTS))


@prop("quotas.quota_metric_tags", "counts requests where ClientQuotaManagerTest's sensors do", 1)
def tags_examples(learner):
    return examples(learner, "quota_metric_tags", TAG_CASES, anomaly="wrong-sharing",
                    diagnose=name_tags)


@prop("quotas.quota_metric_tags", "agrees with DefaultQuotaCallback.quotaMetricTags on any "
                                  "quotas", 1)
def tags_differential(learner):
    return differential(learner, "quota_metric_tags", quota_manager.quota_metric_tags,
                        quotas_and_client(), examples=300, anomaly="wrong-sharing",
                        diagnose=name_tags)


# -- quota_limit ---------------------------------------------------------------------------------
LIMIT_CASES = [
    ((PRECEDENCE, "userA", "client1"), 5000), ((PRECEDENCE, "userA", ""), 4000),
    ((PRECEDENCE, "userB", "client1"), 7000), ((PRECEDENCE, "userB", "client2"), 8000),
    ((PRECEDENCE, "userD", "client1"), 3000), ((WITHOUT_DEFAULT_PAIR, "userD", ""), 1000),
    ((CLIENTS_ONLY, "", "client5"), 2000), ((CLIENTS_ONLY, "", "client1"), 9000),
    (({}, "", "client1"), None), ((PRECEDENCE, "", ""), None),
]
LIMIT_MISTAKES = (
    ("user-before-default-client", mutant(quota_manager.quota_limit, (
        "entities = ((user_tag, client_tag), (user_tag, DEFAULT), (DEFAULT, client_tag),\n"
        "                    (DEFAULT, DEFAULT))",
        "entities = ((user_tag, client_tag), (user_tag, DEFAULT), (user_tag, None),\n"
        "                    (DEFAULT, client_tag), (DEFAULT, DEFAULT))"))),
    ("no-defaults", mutant(quota_manager.quota_limit, (
        "        entities = ((user_tag, None), (DEFAULT, None))",
        "        entities = ((user_tag, None),)"))),
)
name_limit = known_mistakes(*LIMIT_MISTAKES)


@st.composite
def limit_args(draw):
    quotas, user, client = draw(quotas_and_client())
    user_tag, client_tag = draw(st.sampled_from([(user, client), (user, ""), ("", client),
                                                 ("", "")]))
    return quotas, user_tag, client_tag


@prop("quotas.quota_limit", "finds DefaultQuotaCallback.quotaLimit's quota in Kafka's "
                            "precedence cases", 1)
def limit_examples(learner):
    return examples(learner, "quota_limit", LIMIT_CASES, anomaly="wrong-quota",
                    diagnose=name_limit)


@prop("quotas.quota_limit", "agrees with quotaLimit on any quotas and tags", 1)
def limit_differential(learner):
    return differential(learner, "quota_limit", quota_manager.quota_limit, limit_args(),
                        examples=300, anomaly="wrong-quota", diagnose=name_limit)


# -- throttle_time_ms ------------------------------------------------------------------------------
THROTTLE_CASES = [
    ((600, 500, 10_500), 2100),          # ClientQuotaManagerTest.testQuotaViolation
    ((16.5, 16.5, 9_000), 0),            # QuotaUtilsTest.testThrottleTimeObservedRateEqualsQuota
    ((100, 50, 2_000), 2000),            # QuotaUtilsTest.testThrottleTimeObservedRateAboveQuota
    ((101, 100, 50), 1),                 # half rounds up (Math.round)
    ((103, 100, 50), 2),                 # 1.5 too, not to even
    ((16.5, 20.4, 9_000), 0),            # below the quota: no wait
]
THROTTLE_MISTAKES = (
    ("python-round", lambda rate, bound, window_ms: max(0, round((rate - bound) / bound
                                                              * window_ms))),
    ("not-divided-by-the-quota", lambda rate, bound, window_ms: max(0, math.floor(
        (rate - bound) * window_ms + 0.5))),
    ("one-window-only", lambda rate, bound, window_ms: max(0, math.floor(
        (rate - bound) / bound * 1000 + 0.5))),
)
name_throttle = known_mistakes(*THROTTLE_MISTAKES)


@st.composite
def throttle_args(draw):
    bound = draw(st.sampled_from([50, 100, 500, 1000, 10_000]))
    over = draw(st.one_of(st.integers(-5, 50), st.sampled_from([0.5, 1.5, 2.5])))
    return (bound + over * bound / 100, bound, draw(st.sampled_from([50, 1000, 10_000,
                                                                      10_500])))


@prop("quotas.throttle_time_ms", "waits as QuotaUtils.throttleTime in Kafka's cases", 1)
def throttle_examples(learner):
    return examples(learner, "throttle_time_ms", THROTTLE_CASES, anomaly="wrong-throttle",
                    diagnose=name_throttle)


@prop("quotas.throttle_time_ms", "agrees with throttleTime on any rate over any window", 1)
def throttle_differential(learner):
    return differential(learner, "throttle_time_ms", quota_manager.throttle_time_ms,
                        throttle_args(), examples=300, anomaly="wrong-throttle",
                        diagnose=name_throttle)


# -- in a broker under load --------------------------------------------------------------------------
# run_quotas costs about 0.02 s with Kafka's rules in-process (more, answered from a sandbox:
# the broker asks the rules on every produce); the mistakes it catches (no throttle, a
# throttle not divided by the quota, a precedence that forgets the defaults) fail seed 0.
QUOTA_SEEDS = 10


def under_load(learner, seam):
    return workload_runs(learner, seam, run_quotas, "quota", QUOTA_SEEDS,
                         "each group of clients that shares a rate gets its quota (after a "
                         "first burst), no more and not far less")


@prop("quotas.quota_limit", "inside a broker under load, each client gets the quota Kafka "
                            "gives it", 1)
def limit_under_load(learner):
    return under_load(learner, "quota_limit")


@prop("quotas.throttle_time_ms", "inside a broker under load, throttled clients settle at "
                                 "their quota", 1)
def throttle_under_load(learner):
    return under_load(learner, "throttle_time_ms")
