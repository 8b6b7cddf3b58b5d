"""The log assignment's hidden properties, judged on learners that run in process: the engine's
own rules pass, and every realistic mistake fails the property meant to catch it, under the
anomaly that names it. (The sandboxed round trip is tested in test_autograder.py.)"""

import pytest
from hypothesis import HealthCheck, given, settings

from kafkadojo.autograder.properties import Learner, load_all, properties_for
from kafkadojo.autograder.properties import log as props
from kafkadojo.autograder.sandbox import Outcome
from kafkadojo.reference import log

load_all()


class InProcess:
    """A sandbox stand-in: the learner's functions are plain callables in this process."""

    def __init__(self, **functions):
        self.functions = functions

    def call(self, name, *args):
        try:
            return Outcome("returned", self.functions[name](*args))
        except Exception as error:          # noqa: BLE001 - as the worker reports it
            return Outcome("raised", detail=f"{type(error).__name__}: {error}")


REFERENCE = dict(largest_lower_bound=log.largest_lower_bound, should_roll=log.should_roll,
                 fetch_upper_bound=log.fetch_upper_bound,
                 deletable_segments=log.deletable_segments)
PURE = {  # the properties that judge the function alone (the in-engine ones run elsewhere)
    "log.largest_lower_bound": ["finds the right entry in any sorted index"],
    "log.should_roll": ["rolls exactly when LogSegment.shouldRoll does"],
    "log.fetch_upper_bound": ["bounds fetches as Kafka's FetchIsolation does"],
    "log.deletable_segments": ["answers the retention examples",
                               "agrees with UnifiedLog.deleteOldSegments on any log"],
}


def judge(exercise, property_name, **functions):
    learner = Learner(InProcess(**{**REFERENCE, **functions}))
    [prop] = [p for p in properties_for(exercise) if p.name == property_name]
    return prop.check(learner)


@pytest.mark.parametrize("exercise, name", [(e, n) for e, names in PURE.items() for n in names])
def test_the_engine_passes(exercise, name):
    assert judge(exercise, name) is None


MISTAKES = [
    *[("log.should_roll", "should_roll", anomaly, rule) for anomaly, rule in props.ROLL_MISTAKES],
    *[("log.fetch_upper_bound", "fetch_upper_bound", anomaly, rule)
      for anomaly, rule in props.FETCH_MISTAKES],
    *[("log.deletable_segments", "deletable_segments", anomaly, rule)
      for anomaly, rule in props.RETENTION_MISTAKES],
]


@pytest.mark.parametrize("exercise, function, anomaly, rule", MISTAKES,
                         ids=[f"{m[2]}-{i}" for i, m in enumerate(MISTAKES)])
def test_every_named_mistake_fails_each_pure_property_under_its_name(exercise, function,
                                                                     anomaly, rule):
    # every pure property fails it; none names another mistake (an ambiguous counterexample
    # gets the generic name); at least one names it
    generic = {"should_roll": "wrong-roll", "fetch_upper_bound": "wrong-fetch-bound",
               "deletable_segments": "wrong-retention"}[function]
    named = []
    for name in PURE[exercise]:
        failure = judge(exercise, name, **{function: rule})
        assert failure is not None, f"{anomaly} passes {name!r}"
        assert failure.anomaly in (anomaly, generic), failure
        named.append(failure.anomaly == anomaly)
    assert any(named)


def test_a_kafka_should_roll_port_is_never_marked_wrong():
    # LogSegment.shouldRoll as Kafka writes it (rollJitterMs 0, indexes never full): no
    # special case for an empty segment, which only the size check would roll
    def kafka_should_roll(segment_size, batch_size, time_waited_ms, segment_bytes, segment_ms):
        return (segment_size > segment_bytes - batch_size
                or (segment_size > 0 and time_waited_ms > segment_ms))
    assert judge("log.should_roll", PURE["log.should_roll"][0],
                 should_roll=kafka_should_roll) is None


def test_the_fixed_examples_are_the_engines_answers():
    for args, expected in props.RETENTION_CASES:
        assert log.deletable_segments(*args) == expected, args
    for args, expected in props.FETCH_CASES:
        assert log.fetch_upper_bound(*args) == expected, args
    for args, expected in props.ROLL_CASES:
        assert log.should_roll(*args) == expected, args


def reached(strategy, boundaries, examples=600):
    """Which ``boundaries`` (name -> predicate on the arguments) ``strategy`` never reaches in
    ``examples`` draws (derandomized, as the properties draw)."""
    missed = set(boundaries)

    @settings(max_examples=examples, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(args):
        for name in list(missed):
            if boundaries[name](args):
                missed.discard(name)
    draw()
    return missed


def test_roll_generator_reaches_every_boundary():
    assert not reached(props.roll_args(), {
        "exactly full after the append": lambda a: a[0] + a[1] == a[3] and a[0] > 0,
        "one byte over": lambda a: a[0] + a[1] == a[3] + 1 and a[0] > 0,
        "waited exactly segment.ms": lambda a: a[2] == a[4] and a[0] > 0,
        "one ms more": lambda a: a[2] == a[4] + 1 and a[0] > 0,
        "empty and expired": lambda a: a[0] == 0 and a[2] > a[4],
        "a batch of exactly segment.bytes": lambda a: a[1] == a[3],
        "already over segment.bytes": lambda a: a[0] > a[3],
        "timestamps went back": lambda a: a[2] < 0,
    })


@settings(max_examples=500, database=None, deadline=None)
@given(props.roll_args())
def test_roll_generator_never_asks_what_kafka_refuses(args):
    segment_size, batch_size, _, segment_bytes, _ = args
    assert 1 <= batch_size <= segment_bytes


def test_fetch_generator_reaches_every_edge():
    assert not reached(props.fetch_args(), {
        "below the log start": lambda a: a[0] == a[1] - 1,
        "at the log start": lambda a: a[0] == a[1] < a[2],
        "at the HW, below the LEO": lambda a: a[0] == a[2] < a[3],
        "just above the HW, below the LEO": lambda a: a[0] == a[2] + 1 < a[3],
        "at the LEO": lambda a: a[0] == a[3] > a[2],
        "beyond the LEO": lambda a: a[0] == a[3] + 1,
        "the empty log": lambda a: a[1] == a[2] == a[3],
    })


def test_lookup_generator_reaches_every_edge():
    assert not reached(props.lookup_args(), {
        "empty index": lambda a: a[0] == [],
        "on an entry": lambda a: a[1] in a[0],
        "just below an entry": lambda a: a[1] + 1 in a[0] and a[1] not in a[0],
        "below every entry": lambda a: a[0] and a[1] < a[0][0],
        "above every entry": lambda a: a[0] and a[1] > a[0][-1],
    })


def _stamps(args):
    return [stamp for _, size, stamp in args[0] if size]


def _ends(args):
    return [base for base, _, _ in args[0][1:]] + [args[3]]


def test_retention_generator_reaches_every_boundary():
    not_chained = props.RETENTION_MISTAKES[0][1]
    assert not reached(props.retention_args(), {
        "timestamps not increasing": lambda a: any(x > y for x, y in zip(_stamps(a), _stamps(a)[1:])),
        "exactly retention.ms old": lambda a: any(a[4] - stamp == a[5] for stamp in _stamps(a)),
        "exactly retention.bytes left": lambda a: a[6] >= 0 and any(
            sum(s for _, s, _ in a[0][i:]) == a[6] for i in range(1, len(a[0]))),
        "the empty log": lambda a: a[0] == [(a[3], 0, -1)],
        "HW at a segment end": lambda a: a[2] in _ends(a)[:-1],
        "HW just below a segment end": lambda a: a[2] + 1 in _ends(a),
        "log start on a later base": lambda a: a[1] in [b for b, _, _ in a[0][1:]],
        "log start inside a segment": lambda a: a[1] not in [b for b, _, _ in a[0]],
        "every segment goes": lambda a: log.deletable_segments(*a)[0] == len(a[0]),
        "passes not one after another differ": lambda a: (
            not_chained(*a) != log.deletable_segments(*a)),
    })


IN_CLUSTER = "inside a cluster, every replica deletes what Kafka would, and never above the HW"


def test_in_the_cluster_kafkas_retention_passes_and_unchained_passes_fail():
    # late records make segments' newest timestamps go back, so passes that each start from
    # the first segment delete another amount than Kafka in some seed
    assert judge("log.deletable_segments", IN_CLUSTER) is None
    not_chained = props.RETENTION_MISTAKES[0][1]
    failure = judge("log.deletable_segments", IN_CLUSTER, deletable_segments=not_chained)
    assert failure is not None and failure.anomaly in ("retention-too-eager", "retention-too-lazy")
    failure = judge("log.deletable_segments", IN_CLUSTER,
                    deletable_segments=dict(props.RETENTION_MISTAKES)["deleted-uncommitted"])
    assert failure is not None and failure.anomaly == "deleted-uncommitted"
