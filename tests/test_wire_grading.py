"""The wire assignment's hidden properties against realistic mistakes beyond the samples
(autograder/samples.py has three more): each loses points on its own exercise only, and
the feedback names it."""

import pytest

from kafkadojo.autograder.grader import grade_source
from kafkadojo.exercises.catalog import exercises_for, solution_module

WIRE = [exercise.id for exercise in exercises_for("wire")]

MISTAKES = [
    ("wire.read_varint", "wrong-varint-error",
     "            return unzigzag(value & ((1 << bits) - 1)), position",
     "            return unzigzag(value), position"),
    ("wire.read_varint", "wrong-varint-error",
     "    for count in range(max_bytes):", "    for count in range(99):"),
    ("wire.encode_record", "wrong-record-bytes",
     '        _write_bytes(body, header_key.encode("utf-8"))',
     '        body += write_varint(len(header_key)) + header_key.encode("utf-8")'),
    ("wire.encode_record", "wrong-record-bytes",
     "    body += write_varlong(timestamp_delta)", "    body += write_varint(timestamp_delta)"),
    ("wire.crc32c", "crc-not-inverted", "    return crc ^ 0xFFFFFFFF", "    return crc"),
    ("wire.batch_checksum", "crc-covers-the-leader-epoch",
     "    return crc32c(batch[ATTRIBUTES_OFFSET:])",
     "    return crc32c(batch[PARTITION_LEADER_EPOCH_OFFSET:])"),
    ("wire.parse_attributes", "flags-not-bools",
     "        bool(attributes & TRANSACTIONAL_FLAG_MASK), bool(attributes & CONTROL_FLAG_MASK),",
     "        attributes & TRANSACTIONAL_FLAG_MASK, attributes & CONTROL_FLAG_MASK,"),
    ("wire.parse_attributes", "unknown-codec-accepted",
     '        raise CorruptRecordError(f"unknown compression codec id {codec_id}")',
     '        return BatchAttributes("none", CREATE_TIME, False, False, False)'),
]


@pytest.mark.parametrize("exercise, anomaly, old, new", MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_a_wire_mistake_costs_its_own_exercise_and_is_named(exercise, anomaly, old, new):
    source = solution_module("wire")
    assert source.count(old) == 1, "the engine's source changed: update the mistake"
    report = grade_source(source.replace(old, new), WIRE, jobs=2)
    lost = {result.id for result in report.exercises if result.earned < result.points}
    assert lost == {exercise}, report.format()
    assert anomaly in report.format()
