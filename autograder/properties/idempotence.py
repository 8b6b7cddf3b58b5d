"""Hidden properties: the idempotent producer (sequence numbers, the leader's producer state)."""

from hypothesis import strategies as st

from kafkadojo.reference import producer_state
from kafkadojo.reference.producer_state import INT_MAX, BatchMetadata
from kafkadojo.reference.workload import WorkloadConfig

from . import differential, examples, known_mistakes, prop
from .engine import in_the_engine
from .log import mutant

# -- increment_sequence ----------------------------------------------------------------------
INCREMENT_CASES = [
    # DefaultRecordBatchTest.testIncrementSequence
    ((10, 5), 15),
    ((INT_MAX, 1), 0),
    ((INT_MAX - 5, 10), 4),
    ((INT_MAX - 1, 1), INT_MAX),        # the last sequence before the wrap
    ((7, 0), 7),
]
INCREMENT_MISTAKES = (
    ("java-overflow", lambda sequence, increment: (sequence + increment + 2**31) % 2**32 - 2**31),
    ("wraps-one-early", mutant(producer_state.increment_sequence, (
        "if sequence > INT_MAX - increment:", "if sequence >= INT_MAX - increment:"))),
)
name_increment = known_mistakes(*INCREMENT_MISTAKES)


@st.composite
def increment_args(draw):
    increment = draw(st.integers(0, 20))
    sequence = draw(st.one_of(st.integers(0, INT_MAX), st.integers(INT_MAX - 25, INT_MAX),
                              st.integers(0, 30)))
    return (sequence, increment)


@prop("idempotence.increment_sequence", "wraps as DefaultRecordBatch.incrementSequence does", 1)
def increment_property(learner):
    return (examples(learner, "increment_sequence", INCREMENT_CASES, anomaly="wrong-sequence",
                     diagnose=name_increment)
            or differential(learner, "increment_sequence", producer_state.increment_sequence,
                            increment_args(), examples=200, anomaly="wrong-sequence",
                            diagnose=name_increment))


# -- check_append ----------------------------------------------------------------------------
@st.composite
def append_args(draw):
    """What a partition knows of a producer (nothing; an epoch with 0 to 5 batches, their
    sequences consecutive and sometimes wrapping past 2147483647), and an incoming batch: a
    retry of any remembered batch (or one with the same first sequence only), the next
    batch, one past it, an older one no longer remembered, from the same, an older or a
    newer epoch, starting at 0 or not."""
    known = draw(st.booleans())
    epoch = draw(st.integers(0, 5)) if known else -1
    batches = []
    if known:
        sequence = draw(st.one_of(st.integers(0, 40), st.integers(INT_MAX - 12, INT_MAX)))
        offset = draw(st.integers(0, 100))
        for _ in range(draw(st.integers(0, 5))):
            size = draw(st.integers(1, 4))
            last = producer_state.increment_sequence(sequence, size - 1)
            batches.append(BatchMetadata(sequence, last, offset, offset + size - 1))
            sequence = producer_state.increment_sequence(last, 1)
            offset += size + draw(st.sampled_from([0, 0, 3]))
    incoming_epoch = draw(st.sampled_from([epoch, epoch, epoch, max(epoch - 1, 0), epoch + 1]))
    size = draw(st.integers(1, 4))
    following = (producer_state.increment_sequence(batches[-1].last_sequence, 1)
                 if batches else 0)
    choices = [following, 0, producer_state.increment_sequence(following, 1),
               draw(st.integers(0, 60))]
    choices += [b.first_sequence for b in batches]
    first = draw(st.sampled_from(choices))
    last = producer_state.increment_sequence(first, size - 1)
    if batches and draw(st.booleans()):             # an exact retry of a remembered batch
        retried = draw(st.sampled_from(batches))
        first, last = retried.first_sequence, retried.last_sequence
    return (epoch, batches, incoming_epoch, first, last)


_RETAINED = [BatchMetadata(0, 4, 100, 104), BatchMetadata(5, 9, 105, 109)]
APPEND_CASES = [
    ((3, _RETAINED, 3, 0, 4), ("duplicate", BatchMetadata(0, 4, 100, 104))),  # not only the last
    ((3, _RETAINED, 3, 5, 9), ("duplicate", BatchMetadata(5, 9, 105, 109))),
    ((3, _RETAINED, 3, 10, 14), ("append", None)),
    ((3, _RETAINED, 3, 11, 14), ("OUT_OF_ORDER_SEQUENCE_NUMBER", None)),       # a gap
    ((3, _RETAINED, 3, 0, 2), ("OUT_OF_ORDER_SEQUENCE_NUMBER", None)),         # not a retry
    ((3, _RETAINED, 2, 10, 14), ("INVALID_PRODUCER_EPOCH", None)),             # a zombie
    ((3, _RETAINED, 4, 0, 4), ("append", None)),                               # new epoch, 0
    ((3, _RETAINED, 4, 10, 14), ("OUT_OF_ORDER_SEQUENCE_NUMBER", None)),
    ((3, _RETAINED, 4, 5, 9), ("OUT_OF_ORDER_SEQUENCE_NUMBER", None)),         # other epoch: no dup
    ((-1, [], 0, 777, 780), ("append", None)),                                 # unknown (KIP-360)
    ((3, [BatchMetadata(INT_MAX - 1, INT_MAX, 0, 1)], 3, 0, 2), ("append", None)),   # the wrap
    ((3, [], 3, 1, 1), ("OUT_OF_ORDER_SEQUENCE_NUMBER", None)),                # known, no batch
]
APPEND_MISTAKES = (
    ("duplicate-of-the-last-batch-only", mutant(producer_state.check_append, (
        "        for batch in batches:\n", "        for batch in batches[-1:]:\n"))),
    ("duplicate-by-first-sequence-only", mutant(producer_state.check_append, (
        "if batch.first_sequence == first_sequence and batch.last_sequence == last_sequence:",
        "if batch.first_sequence == first_sequence:"))),
    ("duplicate-across-epochs", mutant(producer_state.check_append, (
        "    if producer_epoch == epoch:\n        for batch in batches:",
        "    if True:\n        for batch in batches:"))),
    ("gap-accepted", mutant(producer_state.check_append, (
        "    if first_sequence != increment_sequence(last_sequence_known, 1):\n"
        "        return OUT_OF_ORDER_SEQUENCE_NUMBER, None\n", ""))),
    ("new-epoch-may-start-anywhere", mutant(producer_state.check_append, (
        "        if first_sequence != 0 and epoch != NO_PRODUCER_EPOCH:\n"
        "            return OUT_OF_ORDER_SEQUENCE_NUMBER, None\n", ""))),
    ("zombie-accepted", mutant(producer_state.check_append, (
        "    if producer_epoch < epoch:\n        return INVALID_PRODUCER_EPOCH, None\n", ""))),
)
name_append = known_mistakes(*APPEND_MISTAKES)


@prop("idempotence.check_append", "answers the leader's cases as ProducerAppendInfo does", 1)
def append_examples(learner):
    return examples(learner, "check_append", APPEND_CASES, anomaly="wrong-append-check",
                    diagnose=name_append)


@prop("idempotence.check_append",
      "agrees with findDuplicateBatch, checkProducerEpoch and checkSequence on any state", 1)
def append_differential(learner):
    return differential(learner, "check_append", producer_state.check_append, append_args(),
                        examples=400, anomaly="wrong-append-check", diagnose=name_append)


# Connections that break now and then, leaders bounced and isolated: retries of batches
# already written, to the same leader and to a new one. With Kafka's rule no seed of these
# writes anything twice.
LOSSY = WorkloadConfig(operations=300, fault_interval_ms=600, drop_rate=0.02, idempotence=True,
                       faults=("bounce", "isolate", "heal"), watch_interval_ms=50)


@prop("idempotence.check_append", "inside a cluster with connections breaking and leaders "
                                  "moving, nothing is written twice", 1)
def append_in_the_engine(learner):
    return in_the_engine(learner, "check_append", "check_append", config=LOSSY,
                         fail_on=("duplicate",))
