"""The exercises: each is one of the engine's own functions, which a learner writes again.

An exercise names the engine function it stands for; the learner's stub (signature,
contract, hints, points) and the instructor's solution are both generated from that
function, so there is exactly one solution in the project: the engine's. A learner's
version plugs into the engine through the seam of the same name (``reference/seams.py``).
"""

import inspect
import textwrap
from dataclasses import dataclass

from kafkadojo.reference import (assignors, auth_helper, authorizer, cleaner, consumer,
                                 coordinator, delivery, election, isr, log, monitoring,
                                 partitioner, producer_state, quota_manager, record, record_batch,
                                 replication, scram, transaction_coordinator)


@dataclass(frozen=True)
class Exercise:
    assignment: str             # the notebook it belongs to, e.g. "replication"
    reference: object           # the engine's function
    points: int
    hints: tuple = ()
    seam: str | None = None     # the Seams field it plugs into, if the engine calls it there
    needs: tuple = ()           # other exercises' functions it may call (same notebook)
    helpers: tuple = ()         # small engine functions it calls, written by the learner too
    internals: tuple = ()       # engine functions it calls that the learner designs freely:
                                # in the solution, never stubbed

    @property
    def function(self):
        return self.reference.__name__

    @property
    def id(self):
        return f"{self.assignment}.{self.function}"

    @property
    def grade_id(self):
        """The id of its grade cell in nbgrader, which allows only [a-zA-Z0-9_-]."""
        return f"{self.assignment}-{self.function}"

    def signature(self):
        return f"def {self.function}{inspect.signature(self.reference)}:"

    def stub_source(self):
        """What a learner starts from: the contract, hints, and no solution."""
        worth = f"    # {self.points} point{'s' if self.points != 1 else ''}, graded by hidden properties\n"
        hints = "".join(f"    # Hint: {hint}\n" for hint in self.hints)
        helpers = "".join(_stub(helper) + "\n\n" for helper in self.helpers)
        return helpers + _stub(self.reference, worth + hints)

    def solution_source(self):
        """The engine's own implementation (and helpers): the solution, read from the engine."""
        return "\n\n".join(textwrap.dedent(inspect.getsource(f))
                            for f in (*self.helpers, self.reference, *self.internals))


def _stub(function, comments=""):
    doc = textwrap.indent('"""' + inspect.getdoc(function) + '\n"""', "    ")
    return (f"def {function.__name__}{inspect.signature(function)}:\n{doc}\n{comments}"
            f"    raise NotImplementedError(\"{function.__name__}: your code here\")\n")


EXERCISES = (
    # -- partitioning -------------------------------------------------------------------
    Exercise("partitioning", partitioner.murmur2, points=3, hints=(
        "Python ints never overflow: mask every product with & 0xFFFFFFFF.",
        "Java's >>> on a masked (non-negative) value is Python's >>.",
        "The last 1-3 bytes fall through like a switch without break.",
        "Return the signed value: subtract 2**32 when bit 31 is set.")),
    Exercise("partitioning", partitioner.partition_for_key, points=2,
             seam="partition_for_key", needs=("murmur2",), helpers=(partitioner.to_positive,), hints=(
                 "toPositive is n & 0x7fffffff, not abs(n).",
                 "Use all partitions, available or not: a key must always map to the same one.")),
    Exercise("partitioning", partitioner.next_partition, points=2,
             seam="next_partition", hints=(
                 "The longest queue still weighs 1 (longest + 1 - its size), never 0.",
                 "A pick equal to a running sum belongs to the next partition: look for the "
                 "first sum strictly greater than the pick.",
                 "Without queue sizes, index the list of available partitions; with none "
                 "available, all partitions.")),
    # -- the partition log --------------------------------------------------------------
    Exercise("log", log.largest_lower_bound, points=1, seam="largest_lower_bound", hints=(
        "The entries are sorted: binary search (the bisect module) instead of a scan.",)),
    Exercise("log", log.should_roll, points=2, seam="should_roll", hints=(
        "Size: would the segment pass segment.bytes with this batch in it?",
        "Time: strictly longer than segment.ms.",)),
    Exercise("log", log.fetch_upper_bound, points=2, seam="fetch_upper_bound", hints=(
        "Out of range first: below the log start offset, or beyond the log end offset.",
        "A consumer at the high watermark is in range; it just reads nothing yet.")),
    Exercise("log", log.deletable_segments, points=3, seam="deletable_segments", hints=(
        "Write one loop that deletes while a condition holds, from a given segment, and call "
        "it once per pass: each pass starts at the segment where the one before it stopped.",
        "A segment ends where the next one starts; the last one ends at the log end offset.",
        "retention.bytes is about what remains after the deletion, not what is deleted.")),
    # -- compaction ----------------------------------------------------------------------
    Exercise("compaction", cleaner.dirty_ratio, points=2, seam="dirty_ratio", hints=(
        "Whole segments only: a segment counts by its base offset, never in part.",
        "Clean: base offset below the first dirty offset. Cleanable: from the segment holding "
        "the first dirty offset, base offset below the first uncleanable one.",
        "A log with no bytes at all has ratio 0.0, not a ZeroDivisionError.")),
    Exercise("compaction", cleaner.should_clean, points=2, seam="should_clean",
             needs=("dirty_ratio",), hints=(
                 "The ratio must be strictly above min.cleanable.dirty.ratio.",
                 "max.compaction.lag.ms looks at the first timestamp of each dirty, non-active "
                 "segment, and only at timestamps above 0.",
                 "An overdue log is cleaned only if it has something to clean.")),
    Exercise("compaction", cleaner.first_uncleanable_offset, points=3,
             seam="first_uncleanable_offset", hints=(
                 "Three bounds, take the smallest; then never below the first dirty offset.",
                 "min.compaction.lag.ms: a segment is too young if its largest timestamp is "
                 "strictly after now - lag.",
                 "Round down to a segment's base offset: only whole segments are cleaned.")),
    Exercise("compaction", cleaner.build_offset_map, points=3, seam="build_offset_map", hints=(
        "Check the map's size before every put, even for a key already in it.",
        "latest_offset is set, not maxed: by each put, each batch's end, each segment's end.",
        "Returning early when the map is full leaves latest_offset where the last put left it.")),
    Exercise("compaction", cleaner.should_retain_record, points=2, seam="should_retain_record",
             hints=(
                 "Anything past the map's latest offset is beyond this pass: keep it.",
                 "A key absent from the map keeps its record.",
                 "A tombstone whose batch has no delete horizon yet survives this pass: the "
                 "cleaner stamps the horizon as it keeps it.")),
    # -- replication -------------------------------------------------------------------
    Exercise("replication", replication.next_high_watermark, points=4,
             seam="next_high_watermark", hints=(
                 "The HW is a minimum over the leader and the followers that count.",
                 "It never moves backwards.",
                 "Below min.insync.replicas, it does not move at all (Kafka 3.7+).")),
    Exercise("replication", replication.end_offset_for_epoch, points=3,
             seam="end_offset_for_epoch", hints=(
                 "Find the largest epoch <= the requested one, and the epoch after it.",
                 "The latest epoch ends at the log end offset.")),
    Exercise("replication", replication.truncation_offset, points=3,
             seam="truncation_offset", needs=("end_offset_for_epoch",), hints=(
                 "Ask your own epoch cache the same question the leader answered.",
                 "Never truncate above your own log end offset.")),
    # -- ISR and elections ---------------------------------------------------------------
    Exercise("isr", isr.last_caught_up_time, points=2, seam="last_caught_up_time", hints=(
        "A fetch at the leader's LEO means caught up now.",
        "A fetch at the LEO the leader had at the previous fetch means caught up then.")),
    Exercise("isr", isr.is_caught_up, points=1, seam="is_caught_up"),
    Exercise("isr", isr.can_join_isr, points=2, seam="can_join_isr", hints=(
        "Two conditions: the leader's HW, and the start of the leader's epoch.",)),
    Exercise("isr", election.elect_leader, points=3, seam="elect_leader", hints=(
        "Walk the assignment in order; the first live ISR member wins.",
        "Unclean: only if enabled, and only when no live ISR member exists.",
        "Never leave the ISR empty.")),
    Exercise("isr", isr.acks_all_accepted, points=1, seam="acks_all_accepted",
             helpers=(isr.effective_min_isr,), hints=(
        "Cap min.insync.replicas at the replication factor.",)),
    # -- consumer groups ---------------------------------------------------------------------
    Exercise("groups", assignors.range_assign, points=2, seam="range_assign",
             helpers=(assignors.member_order,), hints=(
                 "Static members (with a group.instance.id) sort before dynamic ones.",
                 "Topic by topic: only the members subscribed to it share it.",
                 "divmod(partitions, members): the first `extra` members get one more.")),
    Exercise("groups", assignors.round_robin_assign, points=2, seam="round_robin_assign",
             needs=("member_order",), hints=(
                 "One turn counter over the members in member order, shared by all topics.",
                 "Skip a member (advance the turn) when it is not subscribed to the topic.")),
    Exercise("groups", assignors.sticky_assign, points=3, seam="sticky_assign",
             helpers=(assignors.valid_claims,), needs=("member_order",),
             internals=(assignors._constrained_sticky, assignors._general_sticky,
                        assignors._give, assignors._fewest, assignors._earlier_owners,
                        assignors._spread, assignors._Balance), hints=(
                 "First decide which previous claims count (valid_claims).",
                 "Same subscription for everyone: quotas P // C and P // C + 1; keep up to "
                 "the quota, then deal the rest round robin to the members under it.",
                 "Different subscriptions: keep the valid claims, hand each other partition to "
                 "the eligible member with the fewest, then move partitions from a member to an "
                 "eligible one with two fewer until none can move.")),
    Exercise("groups", assignors.partitions_to_revoke, points=2, seam="partitions_to_revoke"),
    # -- offsets and delivery semantics -------------------------------------------------------
    Exercise("offsets", delivery.committed_offsets, points=1, hints=(
        "The committed offset is where the next instance starts reading.",)),
    Exercise("offsets", delivery.plan_batch, points=2, seam="plan_batch",
             needs=("committed_offsets",), hints=(
                 "Ask where a crash between two steps leaves the next instance.",
                 "Commit once per batch, with committed_offsets(records).")),
    Exercise("offsets", monitoring.partition_lag, points=1, seam="partition_lag", hints=(
        "Only committed records (below the high watermark) count.",)),
    # -- the idempotent producer -----------------------------------------------------------
    Exercise("idempotence", producer_state.increment_sequence, points=1,
             seam="increment_sequence", hints=(
                 "Sequences are never negative: after 2147483647 comes 0, not Java's "
                 "overflow to -2147483648.",
                 "Compare without overflowing: is sequence > INT_MAX - increment?")),
    Exercise("idempotence", producer_state.check_append, points=3, seam="check_append",
             needs=("increment_sequence",), hints=(
                 "The duplicate check comes first, and needs the same epoch.",
                 "A duplicate matches a remembered batch's first AND last sequence.",
                 "An unknown producer (epoch -1) may start anywhere; a new epoch starts at 0.")),
    # -- transactions --------------------------------------------------------------------
    Exercise("transactions", transaction_coordinator.transaction_partition, points=2,
             seam="transaction_partition", helpers=(coordinator.java_string_hash,), hints=(
                 "str.encode('utf-16-be') gives the UTF-16 code units, two bytes each.",
                 "Mask with & 0xFFFFFFFF after every step, then make it signed at the end.",
                 "Python's abs(-2147483648) is 2147483648; Java's Utils.abs gives 0.")),
    Exercise("transactions", transaction_coordinator.transition_allowed, points=2,
             seam="transition_allowed", hints=(
                 "Write each state's valid previous states down as a table, as Kafka does.",
                 "PrepareAbort follows Ongoing, and PrepareEpochFence (a fenced producer's "
                 "transaction is aborted).",)),
    Exercise("transactions", producer_state.last_stable_offset, points=3,
             seam="last_stable_offset", hints=(
                 "An open transaction holds the LSO at its first offset.",
                 "A closed one too, while its marker is at or above the high watermark.",
                 "Never above the high watermark.")),
    Exercise("transactions", consumer.read_committed_batches, points=4,
             seam="read_committed_batches", hints=(
                 "Sort the aborted transactions by first offset; take them in as the batches "
                 "reach them.",
                 "Only a batch with a producer id (>= 0) takes them in, or is dropped.",
                 "The ABORT marker clears its producer before its own batch is looked at.")),
    # -- security: ACLs and SCRAM ----------------------------------------------------------
    Exercise("security", authorizer.acl_matches, points=3, hints=(
        "First the resource: the type, then LITERAL (exact, or the name *) or PREFIXED "
        "(str.startswith).",
        "Then who and where: the principal or User:*, the host or *.",
        "Implied operations are for ALLOW only; ALL matches everything, ALLOW or DENY.")),
    Exercise("security", authorizer.authorize, points=3, seam="authorize",
             needs=("acl_matches",), helpers=(authorizer.resource_has_acls,), hints=(
                 "A DENY anywhere wins: do not stop at the first ALLOW.",
                 "No ACL matched: does any ACL cover the resource at all, for anyone?",
                 "Super users come first, before any ACL.")),
    Exercise("security", auth_helper.required_acls, points=3, seam="required_acls", hints=(
        "A request that names topics checks each one, in order: one tuple per topic.",
        "The transactional.id comes first; in TxnOffsetCommit, before the group too.",
        "Fetching offsets only looks (DESCRIBE); committing them counts as reading (READ).",
        "Produce carries a transactional.id only inside a transaction (otherwise None).")),
    Exercise("security", scram.scram_credential, points=2, seam="scram_credential", hints=(
        "hashlib.pbkdf2_hmac(name, password bytes, salt, iterations).",
        "hmac.new(key, message, name).digest(); hashlib.new(name, data).digest().")),
    Exercise("security", scram.verify_client_proof, points=2, seam="verify_client_proof",
             hints=(
                 "XOR the proof with the client signature to get the client key back.",
                 "Compare with hmac.compare_digest: == stops at the first difference.",
                 "A proof of the wrong length is simply wrong.")),
    # -- quotas ---------------------------------------------------------------------------
    Exercise("quotas", quota_manager.quota_metric_tags, points=2, seam="quota_metric_tags",
             hints=(
        "Walk the six entities in order; the first one that has a quota decides.",
        "A user's own quota, or the <default> user quota, is shared: its client tag is \"\".",
        "With no user-level quota at all, clients are counted by client id alone.")),
    Exercise("quotas", quota_manager.quota_limit, points=3, seam="quota_limit", hints=(
        "Which chain you walk depends on which tags are set.",
        "A tag of \"\" means that side is shared: it is not looked up.")),
    Exercise("quotas", quota_manager.throttle_time_ms, points=3, seam="throttle_time_ms",
             hints=(
                 "(rate - bound) / bound is how far over the quota, as a fraction.",
                 "Java's Math.round rounds halves up: math.floor(x + 0.5), not round(x).")),
    # -- the wire: record batch v2 ---------------------------------------------------------
    Exercise("wire", record_batch.write_varint, points=2,
             helpers=(record_batch.zigzag, record_batch.write_unsigned_varint), hints=(
                 "Zigzag first. Python's >> on a negative int is already Java's arithmetic >>; "
                 "mask the result to 32 bits.",
                 "Then, while more than 7 bits are left: emit (v & 0x7F) | 0x80 and shift v "
                 "right by 7. The last byte has no top bit.",
                 "0 still takes one byte.")),
    Exercise("wire", record_batch.read_varint, points=4, seam="read_varint",
             helpers=(record_batch.unzigzag,), internals=(record_batch._read_unsigned,),
             hints=(
                 "Add (byte & 0x7F) << shift, shift += 7, until a byte below 0x80.",
                 "Mask to 32 bits before undoing the zigzag: a fifth byte may carry bits "
                 "that Java's int drops.",
                 "Return the position after the varint, not its length.")),
    Exercise("wire", record_batch.encode_record, points=4, seam="encode_record",
             needs=("write_varint", "zigzag", "write_unsigned_varint"),
             helpers=(record_batch.write_varlong,),
             internals=(record_batch._write_bytes,), hints=(
                 "Build the body first: its length goes in front of it.",
                 "None is length -1 (one byte, 01) and no bytes; b\"\" is length 0.",
                 "Header keys are str: count their UTF-8 bytes, not their characters.",
                 "The timestamp delta is a varlong: zigzag it on 64 bits.")),
    Exercise("wire", record_batch.crc32c, points=2, hints=(
        "The table is for the reflected polynomial: the CRC shifts right.",
        "Start from 0xFFFFFFFF; flip every bit at the end (crc ^ 0xFFFFFFFF).")),
    Exercise("wire", record_batch.batch_checksum, points=3, seam="batch_checksum",
             needs=("crc32c",), hints=(
                 "Which header fields does a leader change after the producer computed "
                 "the CRC?",
                 "A checksum cannot cover itself.")),
    Exercise("wire", record_batch.parse_attributes, points=2, seam="parse_attributes", hints=(
        "attributes & COMPRESSION_CODEC_MASK is the codec's id; CODECS_BY_ID names it.",
        "The flags are bools: bool(attributes & mask), not the masked number.")),
)

BY_ID = {exercise.id: exercise for exercise in EXERCISES}
BY_GRADE_ID = {exercise.grade_id: exercise for exercise in EXERCISES}
ASSIGNMENTS = tuple(dict.fromkeys(exercise.assignment for exercise in EXERCISES))


def exercises_for(assignment):
    found = [e for e in EXERCISES if e.assignment == assignment]
    if not found:
        raise KeyError(f"no assignment {assignment!r}; assignments are {list(ASSIGNMENTS)}")
    return found


def stub_module(assignment):
    """A learner's starting file for one assignment: the givens, then every stub, in order."""
    header = (f'"""kafkadojo: the {assignment} exercises. Replace each raise with your code.\n'
              f'Check your work with:  kafkadojo check {assignment}.py\n"""\n\n')
    return header + GIVENS.get(assignment, "") + "\n\n".join(
        e.stub_source() for e in exercises_for(assignment))


def solution_module(assignment):
    """The engine's own functions for one assignment, as one self-contained module."""
    return GIVENS.get(assignment, "") + "\n\n".join(
        e.solution_source() for e in exercises_for(assignment))


# What every learner is given: Kafka's constants and result types, which the engine's
# functions use and which are not the point of any exercise.
GIVENS = {
    "partitioning": "# murmur2's constants, as in Kafka's Utils.murmur2\n"
                    "SEED = 0x9747B28C\nM = 0x5BD1E995\nR = 24\nMASK = 0xFFFFFFFF\n\n\n",
    "log": "from bisect import bisect_right\n\n"
           "# Kafka's error codes in a fetch response\nNONE = 0\nOFFSET_OUT_OF_RANGE = 1\n\n"
           "# Kafka's FetchIsolation: how far a fetch may read\n"
           'LOG_END = "LOG_END"                 # followers\n'
           'HIGH_WATERMARK = "HIGH_WATERMARK"   # consumers\n\n\n',
    "compaction": "from bisect import bisect_right\nfrom typing import NamedTuple\n\n\n"
                  + textwrap.dedent(inspect.getsource(cleaner.SegmentInfo)) + "\n\n",
    "idempotence": "from typing import NamedTuple\n\n"
                   "INT_MAX = 2_147_483_647           # Java's Integer.MAX_VALUE\n"
                   "NO_PRODUCER_EPOCH = -1\nNO_SEQUENCE = -1\n\n"
                   "# What the leader does with a batch (check_append's first answer)\n"
                   'APPEND = "append"\nDUPLICATE = "duplicate"\n'
                   'OUT_OF_ORDER_SEQUENCE_NUMBER = "OUT_OF_ORDER_SEQUENCE_NUMBER"\n'
                   'INVALID_PRODUCER_EPOCH = "INVALID_PRODUCER_EPOCH"\n\n\n'
                   + textwrap.dedent(inspect.getsource(producer_state.BatchMetadata)) + "\n\n",
    "transactions": "# The transaction coordinator's states (TransactionState)\n"
                    + "".join(f'{name} = "{value}"\n' for name, value in (
                        ("EMPTY", "Empty"), ("ONGOING", "Ongoing"),
                        ("PREPARE_COMMIT", "PrepareCommit"), ("PREPARE_ABORT", "PrepareAbort"),
                        ("COMPLETE_COMMIT", "CompleteCommit"),
                        ("COMPLETE_ABORT", "CompleteAbort"), ("DEAD", "Dead"),
                        ("PREPARE_EPOCH_FENCE", "PrepareEpochFence")))
                    + "\n# Transaction markers (ControlRecordType)\n"
                      'COMMIT = "COMMIT"\nABORT = "ABORT"\n\n\n',
    "security": "import hashlib\nimport hmac\nfrom typing import NamedTuple\n\n"
                "# SCRAM's mechanisms and the hashlib name of each one's hash\n"
                'MECHANISMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}\n\n'
                "# ACLs: the name that matches every resource, the principal that is everyone\n"
                'WILDCARD = "*"\nWILDCARD_PRINCIPAL = "User:*"\n'
                'CLUSTER_NAME = "kafka-cluster"    # the one CLUSTER resource\'s name\n'
                'ALLOWED, DENIED = "ALLOWED", "DENIED"\n\n\n'
                + textwrap.dedent(inspect.getsource(scram.ScramCredential)) + "\n\n",
    "quotas": "import math\n\n"
              "# A quota entity's side that is a default (ZooKeeperInternals.DEFAULT_STRING)\n"
              'DEFAULT = "<default>"\n\n\n',
    "replication": "# What OffsetForLeaderEpoch answers when it knows no such epoch\n"
                   "UNDEFINED_EPOCH = -1\nUNDEFINED_EPOCH_OFFSET = -1\n\n\n",
    "groups": "from typing import NamedTuple\n\n\n"
              + textwrap.dedent(inspect.getsource(assignors.Member)) + "\n\n",
    "offsets": "from typing import NamedTuple\n\n\n"
               + textwrap.dedent(inspect.getsource(record.Record))
               + '\n\nAT_MOST_ONCE = "at-most-once"\nAT_LEAST_ONCE = "at-least-once"\n\n\n',
    "wire": "from typing import NamedTuple\n\n"
            "# Record batch v2's header (DefaultRecordBatch): where its fields start\n"
            "BATCH_LENGTH_OFFSET = 8\nPARTITION_LEADER_EPOCH_OFFSET = 12\nMAGIC_OFFSET = 16\n"
            "CRC_OFFSET = 17\nATTRIBUTES_OFFSET = 21\nHEADER_BYTES = 61\n\n"
            "# The attributes' bits\n"
            "COMPRESSION_CODEC_MASK = 0x07\nTIMESTAMP_TYPE_MASK = 0x08\n"
            "TRANSACTIONAL_FLAG_MASK = 0x10\nCONTROL_FLAG_MASK = 0x20\n"
            "DELETE_HORIZON_FLAG_MASK = 0x40\n"
            f"CODECS_BY_ID = {record_batch.CODECS_BY_ID!r}\n"
            'CREATE_TIME = "CreateTime"\nLOG_APPEND_TIME = "LogAppendTime"\n\n\n'
            "class CorruptRecordError(Exception):\n"
            '    """CORRUPT_MESSAGE: bytes that are not a valid record or batch."""\n\n\n'
            + textwrap.dedent(inspect.getsource(record_batch.BatchAttributes)) + "\n\n"
            + textwrap.dedent(inspect.getsource(record_batch._crc32c_table))
            + "\n\nCRC32C_TABLE = _crc32c_table()\n\n\n",
    "isr": "from typing import NamedTuple\n\n\n"
           + textwrap.dedent(inspect.getsource(election.Election)) + "\n\nNO_LEADER = -1\n\n\n",
}
