"""Hidden properties: transactions (the coordinator's partition and states, the last stable
offset, what a read_committed consumer returns)."""

from hypothesis import strategies as st

from kafkadojo.reference import consumer, producer_state, transaction_coordinator
from kafkadojo.reference.delivery import EXACTLY_ONCE, crash_points, run_delivery
from kafkadojo.reference.coordinator import java_string_hash
from kafkadojo.reference.seams import REFERENCE
from kafkadojo.reference.transaction_coordinator import STATES
from kafkadojo.reference.workload import run_transactions

from . import Failure, differential, examples, known_mistakes, prop, remembered
from .engine import EVENT_BUDGET, MIN_SEEDS, engine_failure
from .log import mutant

# -- transaction_partition -------------------------------------------------------------------
PARTITION_CASES = [
    (("hello", 50), 99162322 % 50),         # "hello".hashCode() = 99162322
    (("", 50), 0),
    (("tx", 50), 3716 % 50),
    (("\U0001F600", 50), 1772899 % 50),     # one emoji, two UTF-16 units: 0xD83D, 0xDE00
    (("payments-app", 50), 480600191 % 50),           # a negative hashCode: -480600191
    (("my-transactional-id", 7), 959806496 % 7),      # -959806496
    (("polygenelubricants", 50), 0),        # hashCode is Integer.MIN_VALUE: Utils.abs gives 0
    (("GydZG_", 64), 0),                    # MIN_VALUE too
]
PYTHON_ABS = ("python-abs", lambda transactional_id, n: abs(java_string_hash(transactional_id))
              % n)
UNSIGNED_HASH = ("unsigned-hash", lambda transactional_id, n: (
    java_string_hash(transactional_id) & 0xFFFFFFFF) % n)
PARTITION_MISTAKES = (
    ("hash-over-utf8-bytes", lambda transactional_id, n: transaction_coordinator.
     transaction_partition(transactional_id.encode().decode("latin-1"), n)),
    ("python-modulo-of-signed-hash", lambda transactional_id, n: java_string_hash(
        transactional_id) % n),
)
# On Integer.MIN_VALUE an unsigned hash and Python's abs give the same wrong answer; an
# unsigned hash is wrong on every negative hash before that (the fixed cases meet one
# first, and the search shrinks to one), so a wrong answer there is Python's abs.
name_partition = known_mistakes(PYTHON_ABS, UNSIGNED_HASH, *PARTITION_MISTAKES)


def name_partition_search(args, expected, got):
    if java_string_hash(args[0]) == -2147483648 and got == PYTHON_ABS[1](*args):
        return "python-abs"
    return name_partition(args, expected, got)


@st.composite
def partition_args(draw):
    text = draw(st.one_of(st.text(max_size=24), st.text(st.characters(min_codepoint=0x10000),
                                                        max_size=4),
                          st.sampled_from(["polygenelubricants", "GydZG_", "DESIGNING WORKHOUSES",
                                           "tx", "orders-1"])))
    return (text, draw(st.sampled_from([1, 3, 7, 50, 50, 64])))


@prop("transactions.transaction_partition",
      "finds TransactionStateManager.partitionFor's partition for Kafka's known ids", 1)
def partition_examples(learner):
    return examples(learner, "transaction_partition", PARTITION_CASES,
                    anomaly="wrong-coordinator", diagnose=name_partition_search)


@prop("transactions.transaction_partition",
      "agrees with Java's hashCode and Utils.abs on any transactional.id", 1)
def partition_differential(learner):
    return differential(learner, "transaction_partition",
                        transaction_coordinator.transaction_partition, partition_args(),
                        examples=300, anomaly="wrong-coordinator",
                        diagnose=name_partition_search)


# -- transition_allowed ----------------------------------------------------------------------
TRANSITION_CASES = [((current, target), transaction_coordinator.transition_allowed(current, target))
                    for target in STATES for current in STATES]
TRANSITION_CASES += [(("Ongoing", "Unknown"), False), (("Unknown", "Ongoing"), False)]
TRANSITION_MISTAKES = (
    ("fenced-transaction-cannot-abort", mutant(transaction_coordinator.transition_allowed, (
        "PREPARE_ABORT: {ONGOING, PREPARE_EPOCH_FENCE},", "PREPARE_ABORT: {ONGOING},"))),
    ("commit-while-completing", mutant(transaction_coordinator.transition_allowed, (
        "PREPARE_COMMIT: {ONGOING},", "PREPARE_COMMIT: {ONGOING, PREPARE_COMMIT},"))),
    ("no-new-transaction-after-abort", mutant(transaction_coordinator.transition_allowed, (
        "ONGOING: {ONGOING, EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT},",
        "ONGOING: {ONGOING, EMPTY, COMPLETE_COMMIT},"))),
    ("fence-anything", mutant(transaction_coordinator.transition_allowed, (
        "PREPARE_EPOCH_FENCE: {ONGOING},", "PREPARE_EPOCH_FENCE: set(STATES),"))),
)
name_transition = known_mistakes(*TRANSITION_MISTAKES)


@prop("transactions.transition_allowed",
      "allows exactly TransactionState's transitions (all 64 pairs)", 2)
def transition_table(learner):
    return examples(learner, "transition_allowed", TRANSITION_CASES,
                    anomaly="wrong-transition", diagnose=name_transition)


# -- last_stable_offset ----------------------------------------------------------------------
LSO_CASES = [
    (([], 10), 10),
    (([(4, None)], 10), 4),
    (([(4, None), (2, None)], 10), 2),
    (([(4, 7)], 10), 10),               # closed, its marker committed: nothing held
    (([(4, 10)], 10), 4),               # the marker is at the HW: not committed yet
    (([(4, 12)], 10), 4),
    (([(12, None)], 10), 10),           # never above the HW
    (([(3, 5), (6, None)], 10), 6),
    # ProducerStateManagerTest.testFirstUnstableOffset, step by step
    (([(99, None)], 200), 99),
    (([(99, None), (105, None)], 200), 99),
    (([(99, 109), (105, None)], 100), 99),
    (([(99, 109), (105, None)], 110), 105),
    (([(105, 112)], 110), 105),
    (([(105, 112)], 113), 113),
]
LSO_MISTAKES = (
    ("ignores-transactions", lambda transactions, hw: hw),
    ("ignores-unreplicated-markers", mutant(producer_state.last_stable_offset, (
        "if marker is None or marker >= high_watermark]", "if marker is None]"))),
    ("marker-at-the-hw-counts-as-replicated", mutant(producer_state.last_stable_offset, (
        "marker >= high_watermark]", "marker > high_watermark]"))),
    ("above-the-high-watermark", mutant(producer_state.last_stable_offset, (
        "return min(unstable + [high_watermark])",
        "return min(unstable) if unstable else high_watermark"))),
)
name_lso = known_mistakes(*LSO_MISTAKES)


@st.composite
def lso_args(draw):
    hw = draw(st.integers(0, 60))
    transactions = []
    for _ in range(draw(st.integers(0, 5))):
        first = draw(st.integers(0, 70))
        closed = draw(st.booleans())
        marker = draw(st.sampled_from([hw - 1, hw, hw + 1, first + 1, first + 9])) if closed \
            else None
        transactions.append((first, None if marker is None else max(marker, first + 1)))
    return (transactions, hw)


@prop("transactions.last_stable_offset", "answers ProducerStateManager's cases", 1)
def lso_examples(learner):
    return examples(learner, "last_stable_offset", LSO_CASES, anomaly="wrong-lso",
                    diagnose=name_lso)


@prop("transactions.last_stable_offset", "agrees with firstUnstableOffset on any partition", 1)
def lso_differential(learner):
    return differential(learner, "last_stable_offset", producer_state.last_stable_offset,
                        lso_args(), examples=300, anomaly="wrong-lso", diagnose=name_lso)


# -- read_committed_batches ----------------------------------------------------------------------
def _data(base, last, pid, transactional=True):
    return (base, last, pid, transactional, None)


def _marker(offset, pid, kind):
    return (offset, offset, pid, True, kind)


READ_COMMITTED_CASES = [
    # one committed transaction, one aborted: only the committed one's records (and, below,
    # the cases of Kafka's consumer tests, each named)
    (([_data(0, 1, 1), _marker(2, 1, "COMMIT"), _data(3, 4, 1), _marker(5, 1, "ABORT")],
      [(1, 3)]), [0]),
    # two producers interleaved, one aborts
    (([_data(0, 0, 1), _data(1, 1, 2), _data(2, 2, 1), _marker(3, 2, "ABORT"),
       _marker(4, 1, "COMMIT")], [(2, 1)]), [0, 2]),
    # after its ABORT marker, the producer's next transaction commits and is returned
    (([_data(0, 0, 1), _marker(1, 1, "ABORT"), _data(2, 2, 1), _marker(3, 1, "COMMIT")],
      [(1, 0)]), [2]),
    # an abort marker with no data left in the fetch (the data was read before)
    (([_marker(5, 1, "ABORT"), _data(6, 6, 1)], [(1, 2)]), [6]),
    # non-transactional batches and batches without a producer id always count
    (([_data(0, 0, -1, False), _data(1, 1, 7, False), _data(2, 2, 7)], [(7, 2)]), [0, 1]),
    # an aborted transaction is taken in only once the batches reach its first offset
    (([_data(0, 0, 1), _marker(1, 1, "COMMIT"), _data(2, 2, 1)], [(1, 2)]), [0]),
    (([], [(1, 0)]), []),
    # FetcherTest.testReadCommittedWithCommittedAndAbortedTransactions
    (([_data(0, 1, 1), _data(2, 2, 2), _marker(3, 1, "COMMIT"), _data(4, 4, 2),
       _marker(5, 2, "ABORT"), _data(6, 6, 1), _data(7, 7, 2), _data(8, 8, 1),
       _marker(9, 1, "ABORT"), _marker(10, 2, "COMMIT")], [(2, 2), (1, 6)]), [0, 7]),
    # FetcherTest.testMultipleAbortMarkers
    (([_data(0, 1, 1), _marker(2, 1, "ABORT"), _marker(3, 1, "ABORT"), _data(4, 5, 1),
       _marker(6, 1, "COMMIT")], [(1, 0)]), [4]),
    # FetcherTest.testReadCommittedWithCompactedTopic
    (([_data(3, 4, 3), _data(15, 17, 2), _data(22, 23, 1), _marker(28, 2, "ABORT"),
       _data(30, 32, 3), _marker(35, 3, "COMMIT"), _data(39, 40, 1)], [(2, 6), (1, 0)]),
     [3, 30]),
    # FetchCollectorTest.testReadCommittedWithAbortedTransaction, its second fetch
    (([_marker(21, 100, "ABORT"), _data(22, 41, 100)], [(100, 21)]), [22]),
]
READ_COMMITTED_MISTAKES = (
    ("keeps-aborted-records", lambda batches, aborted: [b[0] for b in batches if b[4] is None]),
    ("abort-marker-never-clears", mutant(consumer.read_committed_batches, (
        '            if control == "ABORT":\n                aborted_producers.discard(producer_id)\n'
        '            elif control is None',
        '            if control is None'))),
    ("all-aborted-at-once", mutant(consumer.read_committed_batches, (
        "while pending and pending[0][1] <= last_offset:", "while pending:"))),
    ("returns-markers", mutant(consumer.read_committed_batches, (
        "        if control is None:\n            kept.append(base_offset)",
        "        kept.append(base_offset)"))),
)
name_read_committed = known_mistakes(*READ_COMMITTED_MISTAKES)


@st.composite
def read_committed_args(draw):
    """A partition's log as producers 1 to 3 and a non-transactional writer leave it
    (transactions interleaved, each closed by a COMMIT or ABORT marker or still open), read
    from a batch boundary on; the aborted transactions as the broker sends them (those
    whose range reaches the fetch)."""
    offset, batches, aborted, open_first = 0, [], [], {}
    for _ in range(draw(st.integers(0, 14))):
        pid = draw(st.sampled_from([1, 2, 3, -1]))
        if pid < 0 or draw(st.integers(0, 9)) == 0:
            size = draw(st.integers(1, 3))
            batches.append(_data(offset, offset + size - 1, pid, False))
            offset += size
        elif pid in open_first and draw(st.booleans()):
            kind = draw(st.sampled_from(["COMMIT", "ABORT"]))
            if kind == "ABORT":
                aborted.append((pid, open_first[pid], offset))
            del open_first[pid]
            batches.append(_marker(offset, pid, kind))
            offset += 1
        else:
            size = draw(st.integers(1, 3))
            open_first.setdefault(pid, offset)
            batches.append(_data(offset, offset + size - 1, pid))
            offset += size
    start = draw(st.integers(0, len(batches))) if batches else 0
    fetched = batches[start:]
    fetch_offset = fetched[0][0] if fetched else offset
    sent = [(pid, first) for pid, first, last in aborted if last >= fetch_offset]
    return (fetched, draw(st.permutations(sent)))


@prop("transactions.read_committed_batches",
      "returns what Kafka's CompletedFetch returns in the fetcher's cases", 1)
def read_committed_examples(learner):
    return examples(learner, "read_committed_batches", READ_COMMITTED_CASES,
                    anomaly="wrong-read-committed", diagnose=name_read_committed)


@prop("transactions.read_committed_batches",
      "agrees with CompletedFetch on any interleaving of transactions", 1)
def read_committed_differential(learner):
    return differential(learner, "read_committed_batches", consumer.read_committed_batches,
                        read_committed_args(), examples=300, anomaly="wrong-read-committed",
                        diagnose=name_read_committed)


# -- in a cluster ------------------------------------------------------------------------------------
# run_transactions costs about 0.05 s with Kafka's rules in-process; answered from a sandbox,
# a little more. The realistic mistakes it catches (an LSO that ignores open transactions, a
# consumer that keeps aborted records or never clears an aborted producer) show on the first
# seed or two; the ones it cannot see (an LSO that forgets markers above the high watermark)
# the differential properties name.
TRANSACTION_SEEDS = MIN_SEEDS


def in_transactions_cluster(learner, seam):
    """``run_transactions`` with the learner's ``seam``, seed after seed; the first seed
    whose read_committed consumer saw an anomaly fails and is named."""
    seams = REFERENCE.with_rules(**{seam: remembered(learner.function(seam))})
    for seed in range(TRANSACTION_SEEDS):
        replay = (">>> from kafkadojo.reference.workload import run_transactions\n"
                  ">>> from kafkadojo.reference.seams import REFERENCE\n"
                  f">>> print(run_transactions({seed}, REFERENCE.with_rules("
                  f"{seam}=YOUR_FUNCTION)).report())")
        where = f"transactions seed {seed} (of the {TRANSACTION_SEEDS} tried)"
        try:
            outcome = run_transactions(seed, seams=seams, event_budget=EVENT_BUDGET)
        except Exception as error:      # noqa: BLE001 - judged by engine_failure
            return engine_failure(error, where, replay)
        if not outcome.valid:
            kind, found = next(iter(outcome.anomalies.items()))
            detail, proof = found[0]
            return Failure(kind, where,
                           expected="a read_committed consumer sees every committed "
                                    "transaction whole, once, and nothing of an aborted one",
                           got="\n".join([detail, *proof[:3]]), replay=replay)
    return None


@prop("transactions.last_stable_offset", "inside a cluster under crashes, read_committed "
                                         "consumers never read an aborted record", 1)
def lso_in_the_engine(learner):
    return in_transactions_cluster(learner, "last_stable_offset")


@prop("transactions.read_committed_batches", "inside a cluster under crashes, committed "
                                             "transactions are read whole and aborted ones "
                                             "never", 1)
def read_committed_in_the_engine(learner):
    return in_transactions_cluster(learner, "read_committed_batches")


# -- the exactly-once loop ------------------------------------------------------------------------
def exactly_once_with(learner, seam):
    """``run_delivery("exactly-once")`` with a crash at each step in turn (before and after
    it), the learner's ``seam`` in every consumer; the first crash after which the output
    topic, read with read_committed, does not hold each input's result exactly once fails."""
    seams = REFERENCE.with_rules(**{seam: remembered(learner.function(seam))})
    points = crash_points(EXACTLY_ONCE)
    for point in points:
        replay = (">>> from kafkadojo.reference.delivery import run_delivery\n"
                  ">>> from kafkadojo.reference.seams import REFERENCE\n"
                  f">>> print(run_delivery('exactly-once', crash_at=[{point!r}], "
                  f"seams=REFERENCE.with_rules({seam}=YOUR_FUNCTION)).report())")
        where = f"a crash {point[1]} step {point[0]} of the exactly-once loop"
        try:
            outcome = run_delivery(EXACTLY_ONCE, crash_at=[point], seams=seams,
                                   event_budget=EVENT_BUDGET)
        except Exception as error:      # noqa: BLE001 - judged by engine_failure
            return engine_failure(error, where, replay)
        broken = [(kind, items) for kind, items in outcome.violations()
                  if kind in ("duplicate-output", "lost-output")]
        if broken:
            kind, items = broken[0]
            return Failure(kind, where,
                           expected="each input's result exactly once in the output topic, "
                                    "read with read_committed",
                           got=f"{kind} for inputs " + ", ".join(f"p{p}@{o}" for p, o in items),
                           replay=replay)
    return None


@prop("transactions.read_committed_batches", "the exactly-once loop's output holds each "
                                             "input's result once, whatever step crashes", 1)
def read_committed_exactly_once(learner):
    return exactly_once_with(learner, "read_committed_batches")
