"""Sample submissions: the reference (full marks), the untouched stubs (zero), realistic
bugs (partial credit, the right properties failing) and hostile code (one exercise's
points lost, nothing else: see hostile.py).

None is a second copy of a solution: the reference is the engine's own source, and every
buggy sample is that source with one named mutation applied. If the engine changes so a
mutation no longer applies, building the sample fails instead of silently drifting.
"""

from dataclasses import dataclass
from pathlib import Path

from kafkadojo.exercises.catalog import ASSIGNMENTS, solution_module, stub_module


@dataclass(frozen=True)
class Sample:
    name: str
    assignment: str
    description: str
    mutation: tuple = ()        # (old, new) text replacements on the reference source
    appended: str = ""          # code appended after the reference (redefining a function)
    stub: bool = False
    expected_failures: tuple = ()   # exercise ids expected to lose points

    def source(self):
        if self.stub:
            return stub_module(self.assignment)
        source = solution_module(self.assignment)
        for old, new in self.mutation:
            if old not in source:
                raise ValueError(f"sample {self.name}: the mutation no longer applies "
                                 f"(engine source changed): {old!r}")
            source = source.replace(old, new, 1)
        return source + ("\n\n" + self.appended if self.appended else "")


def _bugs():
    samples = []
    for assignment in ASSIGNMENTS:
        samples.append(Sample(f"{assignment}-reference", assignment,
                              "the engine's own functions: full marks"))
        samples.append(Sample(f"{assignment}-stubs", assignment,
                              "the untouched stubs: zero", stub=True,
                              expected_failures=("*",)))
    samples += [
        Sample("partitioning-abs-instead-of-mask", "partitioning",
               "toPositive written as abs(): Integer.MIN_VALUE and friends land elsewhere",
               mutation=(("    return n & 0x7FFFFFFF", "    return abs(n)"),),
               expected_failures=("partitioning.partition_for_key",)),
        Sample("partitioning-unsigned-murmur2", "partitioning",
               "murmur2 returns the unsigned value (kafka-python's convention, not Java's)",
               mutation=(("    return h - (1 << 32) if h & 0x80000000 else h", "    return h"),),
               expected_failures=("partitioning.murmur2",)),
        Sample("partitioning-sign-off-by-one", "partitioning",
               "murmur2 turns signed only above 2**31, so Integer.MIN_VALUE comes back positive",
               mutation=(("    return h - (1 << 32) if h & 0x80000000 else h",
                          "    return h - (1 << 32) if h > 0x80000000 else h"),),
               expected_failures=("partitioning.murmur2",)),
        Sample("partitioning-pick-on-a-sum", "partitioning",
               "next_partition gives a pick equal to a running sum to the partition that sum "
               "ends (bisect_left instead of the first sum greater than the pick)",
               mutation=(("            if running > pick:", "            if running >= pick:"),),
               expected_failures=("partitioning.next_partition",)),
        Sample("log-retention-ignores-high-watermark", "log",
               "retention deletes old segments even above the high watermark",
               mutation=(("if (end > high_watermark or (is_last", "if ((is_last"),),
               expected_failures=("log.deletable_segments",)),
        Sample("log-consumers-read-to-log-end", "log",
               "consumers read up to the log end offset, uncommitted records included",
               mutation=(("    if isolation == LOG_END:\n        return NONE, log_end_offset\n"
                          "    return NONE, high_watermark",
                          "    return NONE, log_end_offset"),),
               expected_failures=("log.fetch_upper_bound",)),
        Sample("log-roll-when-full", "log",
               "rolls when the segment would be exactly full, not only past segment.bytes",
               mutation=(("segment_size + batch_size > segment_bytes",
                          "segment_size + batch_size >= segment_bytes"),),
               expected_failures=("log.should_roll",)),
        Sample("replication-hw-ignores-followers", "replication",
               "the leader commits whatever it has: acknowledged writes die with it",
               mutation=(("    candidate = min(follower_leos, default=leader_leo)",
                          "    candidate = leader_leo"),),
               expected_failures=("replication.next_high_watermark",)),
        Sample("replication-hw-ignores-min-isr", "replication",
               "the pre-3.7 rule: a lone leader still advances the high watermark",
               mutation=(("    if isr_size < min_insync_replicas:\n        return current_hw\n", ""),),
               expected_failures=("replication.next_high_watermark",)),
        Sample("replication-truncate-to-high-watermark", "replication",
               "pre-KIP-101: the follower trusts its own high watermark",
               appended=("def truncation_offset(leader_epoch, leader_end_offset, "
                         "follower_epoch_entries, follower_leo, follower_hw):\n"
                         "    return min(follower_hw, follower_leo), True\n"),
               expected_failures=("replication.truncation_offset",)),
        Sample("isr-unclean-always", "isr",
               "elects any live replica when the ISR is dead, even with unclean election off",
               mutation=(("    if unclean_enabled:\n        for replica in assignment:",
                          "    if True:\n        for replica in assignment:"),),
               expected_failures=("isr.elect_leader",)),
        Sample("groups-dynamic-members-first", "groups",
               "orders dynamic members before static ones (MemberInfo.compareTo says the opposite)",
               mutation=(("        return (0, member.group_instance_id, member.member_id)",
                          "        return (2, member.group_instance_id, member.member_id)"),),
               # round_robin_assign sorts with it too, but is graded with the engine's
               expected_failures=("groups.range_assign",)),
        Sample("groups-sticky-forgets-owners", "groups",
               "a 'sticky' assignor that ignores who owned what: balanced, but partitions move",
               mutation=(("    owners = valid_claims(members, partitions_per_topic)\n    if len(",
                          "    owners = {}\n    if len("),),
               expected_failures=("groups.sticky_assign",)),
        Sample("groups-revoke-nothing", "groups",
               "a cooperative member that never gives a partition up",
               mutation=(("    return sorted(set(owned) - set(assigned))", "    return []"),),
               expected_failures=("groups.partitions_to_revoke",)),
        Sample("offsets-commit-last-processed", "offsets",
               "commits the offset of the last processed record, not the next one to read",
               mutation=(("record.offset + 1", "record.offset"),),
               # plan_batch calls it, but is graded with the engine's committed_offsets
               expected_failures=("offsets.committed_offsets",)),
        Sample("offsets-always-commit-first", "offsets",
               "commits before processing whatever the guarantee: at-least-once loses records",
               mutation=(("    if guarantee == AT_MOST_ONCE:\n        return [commit, *process]",
                          "    return [commit, *process]"),),
               expected_failures=("offsets.plan_batch",)),
        Sample("offsets-no-commit-means-no-lag", "offsets",
               "a group that never committed shows lag 0, hiding that it reads nothing",
               mutation=(("    if committed_offset is None:\n        return None",
                          "    if committed_offset is None:\n        return 0"),),
               expected_failures=("offsets.partition_lag",)),
        Sample("transactions-python-abs", "transactions",
               "Python's abs where Kafka has Utils.abs: the transactional.id whose hash is "
               "Integer.MIN_VALUE finds the wrong coordinator",
               mutation=(("    if h == -2147483648:\n        return 0\n", ""),),
               expected_failures=("transactions.transaction_partition",)),
        Sample("transactions-lso-ignores-open-transactions", "transactions",
               "the last stable offset is the high watermark: read_committed consumers read "
               "transactions that are still open, and some of those abort",
               mutation=(("    return min(unstable + [high_watermark])",
                          "    return high_watermark"),),
               expected_failures=("transactions.last_stable_offset",)),
        Sample("security-first-match-wins", "security",
               "the authorizer stops at the first ACL that matches, so an ALLOW listed before "
               "a DENY lets the request through",
               mutation=(('        if verdict == "ALLOW":\n            allowed = True',
                          '        if verdict == "ALLOW":\n            return ALLOWED'),),
               expected_failures=("security.authorize",)),
        Sample("security-commit-only-describes", "security",
               "an offset commit needs only DESCRIBE on its topics: a principal that may not "
               "read a topic can still move a group's position in it",
               mutation=(('        return [("READ", "GROUP", group_id)] + on_topics("READ")',
                          '        return [("READ", "GROUP", group_id)] + on_topics("DESCRIBE")'),),
               expected_failures=("security.required_acls",)),
        Sample("security-stored-key-not-hashed", "security",
               "the broker stores the client key itself, not its hash: whoever reads the "
               "credential store can log in as anyone",
               mutation=(("    stored_key = hashlib.new(hash_name, client_key).digest()",
                          "    stored_key = client_key"),),
               expected_failures=("security.scram_credential",)),
        Sample("wire-varint-without-zigzag", "wire",
               "write_varint skips the zigzag: -1 takes five bytes instead of one, and reads "
               "back as 2147483647",
               mutation=(("    return write_unsigned_varint(zigzag(value, 32))",
                          "    return write_unsigned_varint(value & 0xFFFFFFFF)"),),
               expected_failures=("wire.write_varint",)),
        Sample("wire-null-as-empty", "wire",
               "a null key or value written as length 0: a tombstone comes back as an empty "
               "value, which compaction keeps",
               mutation=(("out += write_varint(-1)", "out += write_varint(0)"),),
               expected_failures=("wire.encode_record",)),
        Sample("wire-crc-covers-base-offset", "wire",
               "the batch's CRC covers its base offset: every batch a leader stamps at an "
               "offset other than 0 is refused by its followers",
               mutation=(("    return crc32c(batch[ATTRIBUTES_OFFSET:])",
                          "    return crc32c(batch[:8] + batch[ATTRIBUTES_OFFSET:])"),),
               expected_failures=("wire.batch_checksum",)),
    ]
    return {sample.name: sample for sample in samples}


SAMPLES = _bugs()

from . import hostile  # noqa: E402 - hostile code (autograder/hostile.py), built on Sample
SAMPLES.update(getattr(hostile, "DEMO", {}))


def write_samples(directory):
    """Write every sample as ``<name>.py`` into ``directory``; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for sample in SAMPLES.values():
        path = directory / f"{sample.name}.py"
        path.write_text(f'"""Sample submission: {sample.description}."""\n\n' + sample.source())
        paths.append(path)
    return paths


def fill_notebook(release_notebook, source):
    """A learner's submission: the released notebook with its solution cells filled from
    ``source`` (each function into the cell of its exercise; imports, classes and other
    top-level code into the first solution cell)."""
    import ast
    import copy
    from kafkadojo.exercises.catalog import EXERCISES

    notebook = copy.deepcopy(release_notebook)
    owner = {}
    for exercise in EXERCISES:
        for function in (*exercise.helpers, exercise.reference, *exercise.internals):
            owner[function.__name__] = exercise.grade_id
    lines = source.splitlines()
    pieces = {}
    preamble = []
    for node in ast.parse(source).body:
        text = "\n".join(lines[node.lineno - 1 - len(getattr(node, "decorator_list", [])):node.end_lineno])
        if isinstance(node, ast.FunctionDef) and node.name in owner:
            pieces.setdefault(owner[node.name], []).append(text)
        elif not (isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant)):
            preamble.append(text)
    solution_cells = [c for c in notebook["cells"]
                      if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    for i, cell in enumerate(solution_cells):
        grade_id = cell["metadata"]["nbgrader"]["grade_id"].removesuffix("-solution")
        body = pieces.get(grade_id, [])
        cell["source"] = "\n\n\n".join((preamble if i == 0 else []) + body) or "# (no answer)"
    return notebook
