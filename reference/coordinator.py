"""The group coordinator: the broker-side half of consumer groups (Kafka's classic protocol).

Every group has one coordinator: the broker leading partition
``abs(hash(group.id)) % offsets.topic.num.partitions`` of the internal topic
``__consumer_offsets``. The coordinator

- runs the group's membership protocol. Members *join* (JoinGroup), the coordinator waits
  until every known member has rejoined (or ``max.poll.interval.ms``, the rebalance
  timeout, passes), bumps the *generation*, and names a *leader*; the leader runs the
  assignor and hands the result back in SyncGroup; the coordinator passes each member its
  share. A member that sends no SyncGroup within the rebalance timeout is removed. An
  empty group's first rebalance waits ``group.initial.rebalance.delay.ms``, and that long
  again while new members keep arriving (never past the rebalance timeout). A follower
  that joins again with unchanged metadata is answered at once with the current generation.
- tracks sessions: a member silent (no heartbeat, no commit) for ``session.timeout.ms`` is
  removed at that very moment, and the group rebalances; a member held in a JoinGroup or
  SyncGroup cannot heartbeat, so its session waits for the answer.
- stores committed offsets as records in its ``__consumer_offsets`` partition, and answers
  OffsetCommit only once the record is committed (replicated to the ISR), so a new
  coordinator elected after a crash finds every offset it acknowledged. A member of the
  current generation may commit in Stable and in PreparingRebalance (what it commits as it
  revokes its partitions must count); only CompletingRebalance answers REBALANCE_IN_PROGRESS.

Group states are Kafka's: Empty, PreparingRebalance, CompletingRebalance, Stable.

Simplifications, said plainly: a new member gets its member id at once (Kafka 2.2+ first
answers MEMBER_ID_REQUIRED and the member joins again with it); group membership lives in
the coordinator's memory only (Kafka also writes it to ``__consumer_offsets``), so after a
coordinator moves, members find the new one and join again, keeping their committed offsets;
``__consumer_offsets`` is ``cleanup.policy=compact`` but the engine does not compact yet, so
its log keeps every commit and loading replays them all, the last one per partition winning.
"""

import struct
from typing import NamedTuple

from . import errors

OFFSETS_TOPIC = "__consumer_offsets"

EMPTY = "Empty"
PREPARING_REBALANCE = "PreparingRebalance"
COMPLETING_REBALANCE = "CompletingRebalance"
STABLE = "Stable"


def java_string_hash(text):
    """Java's ``String.hashCode``: ``h = 31 * h + unit`` over the string's UTF-16 code units
    (a character outside the Basic Multilingual Plane is two units, a surrogate pair), with
    Java's 32-bit int arithmetic: the result wraps, and is signed (-2147483648 to
    2147483647). The empty string hashes to 0."""
    h = 0
    data = text.encode("utf-16-be", "surrogatepass")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def coordinator_partition(group_id, num_partitions):
    """``GroupMetadataManager.partitionFor``: ``Utils.abs(groupId.hashCode) % partitions``
    (``Utils.abs`` maps Integer.MIN_VALUE to 0)."""
    h = java_string_hash(group_id)
    return (0 if h == -(1 << 31) else abs(h)) % num_partitions


# -- __consumer_offsets records, in Kafka's schemas (OffsetCommitKey v1, OffsetCommitValue v3)
def _string(text):
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _read_string(data, at):
    (length,) = struct.unpack_from(">h", data, at)
    return data[at + 2:at + 2 + length].decode(), at + 2 + length


def offset_commit_key(group_id, topic, partition):
    return struct.pack(">h", 1) + _string(group_id) + _string(topic) + struct.pack(">i", partition)


def offset_commit_value(offset, leader_epoch, metadata, commit_timestamp):
    return (struct.pack(">hqi", 3, offset, leader_epoch) + _string(metadata)
            + struct.pack(">q", commit_timestamp))


def commit_timestamp_of(value):
    """The commit timestamp in an OffsetCommitValue v3 (after the offset, the leader epoch
    and the metadata string)."""
    _, at = _read_string(value, 14)
    return struct.unpack_from(">q", value, at)[0]


def decode_offset_commit(key, value):
    """``(group_id, topic, partition, offset)`` from a commit record (offset None: deleted)."""
    (version,) = struct.unpack_from(">h", key, 0)
    if version > 1:
        return None                     # a group metadata record, not an offset
    group_id, at = _read_string(key, 2)
    topic, at = _read_string(key, at)
    (partition,) = struct.unpack_from(">i", key, at)
    offset = None if value is None else struct.unpack_from(">hq", value, 0)[1]
    return group_id, topic, partition, offset


# -- what the protocol carries ----------------------------------------------------------------
class Subscription(NamedTuple):
    """A member's ConsumerProtocolSubscription: its topics, and (cooperative, sticky) what it
    owns now and since which generation."""
    topics: tuple
    owned: tuple = ()
    generation: int = -1


class JoinResponse(NamedTuple):
    error: errors.KafkaError | None
    generation: int = -1
    protocol: str | None = None
    leader_id: str = ""
    member_id: str = ""
    members: tuple = ()                 # leader only: (member_id, group_instance_id, Subscription)


class MemberMetadata:
    def __init__(self, member_id, group_instance_id, client_id, session_timeout_ms,
                 rebalance_timeout_ms, protocols):
        self.member_id = member_id
        self.group_instance_id = group_instance_id
        self.client_id = client_id
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.protocols = protocols              # [(assignor name, Subscription)], preferred first
        self.session_deadline_ms = 0            # removed if silent until then (and not waiting)
        self.session_timer = False              # a session check is scheduled
        self.awaiting_join = None               # (requester, respond) of a JoinGroup in waiting
        self.awaiting_sync = None
        self.assignment = ()

    def subscription(self, protocol):
        return dict(self.protocols)[protocol]

    def is_waiting(self):
        """Held in a JoinGroup or SyncGroup by the coordinator: it cannot heartbeat, so its
        session does not expire meanwhile (Kafka's ``hasSatisfiedHeartbeat``)."""
        return self.awaiting_join is not None or self.awaiting_sync is not None


class GroupMetadata:
    def __init__(self, group_id):
        self.group_id = group_id
        self.state = EMPTY
        self.generation = 0
        self.protocol = None
        self.leader_id = None
        self.members = {}                       # member id -> MemberMetadata, in join order
        self.static_members = {}                # group.instance.id -> member id
        self.offsets = {}                       # (topic, partition) -> committed offset
        self.commit_timestamps = {}             # (topic, partition) -> when it was committed
        self.pending_txn_offsets = {}           # producer id -> {(topic, partition): offset}
                                                # committed in a transaction not yet ended
        self.protocol_type = None               # "consumer" once a member joined; None for a
                                                # consumer that only commits (assign + commit)
        self.state_timestamp = None             # when the group entered its state (unknown
                                                # for a group loaded from the log)
        self.rebalance_timer = None
        self.initial_delay = None               # InitialDelay while the first join is held back
        self.new_member_added = False           # a member arrived during the initial delay
        self.pending_sync = set()               # members that got the generation, no SyncGroup yet
        self.sync_timer = None
        self.history = []                       # (time, generation, what happened)

    def has_member(self, member_id):
        return member_id in self.members

    def all_joined(self):
        return all(m.awaiting_join is not None for m in self.members.values())

    def rebalance_timeout_ms(self):
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def select_protocol(self):
        """Kafka's vote: each member votes for the assignor it prefers among those every
        member supports; the most votes win (ties: the first name)."""
        common = set.intersection(*(set(dict(m.protocols)) for m in self.members.values()))
        votes = {}
        for member in self.members.values():
            choice = next(name for name, _ in member.protocols if name in common)
            votes[choice] = votes.get(choice, 0) + 1
        return max(sorted(votes), key=lambda name: votes[name])

    def supports(self, protocols):
        if not self.members:
            return True
        names = {name for name, _ in protocols}
        return all(names & set(dict(m.protocols)) for m in self.members.values())


def expired_offsets(group, now_ms, retention_ms):
    """The committed offsets of ``group`` that ``offsets.retention.minutes`` has expired, as
    Kafka's ``GroupMetadata.removeExpiredOffsets`` decides (Kafka 2.1+, KIP-211):

    - an empty consumer group: every offset, once the group has been empty that long (since
      its last commit, if the time it became empty is unknown);
    - a stable consumer group: the offsets of topics no member subscribes to any more, that
      long after their commit;
    - a consumer that only commits (no group membership): each offset that long after its
      commit;
    - any other group (rebalancing): none.
    """
    subscribed = set()
    since_empty = None
    if group.protocol_type is not None and group.state == EMPTY:
        since_empty = group.state_timestamp
    elif group.protocol_type is not None and group.state == STABLE and group.protocol:
        for member in group.members.values():
            subscribed.update(member.subscription(group.protocol).topics)
    elif group.protocol_type is not None:
        return []
    expired = []
    for tp in group.offsets:
        base = since_empty if since_empty is not None else group.commit_timestamps.get(tp, 0)
        if tp[0] not in subscribed and now_ms - base >= retention_ms:
            expired.append(tp)
    return sorted(expired)


class InitialDelay(NamedTuple):
    """Kafka's ``InitialDelayedJoin``: an empty group's first rebalance waits
    ``group.initial.rebalance.delay.ms``; if new members arrived meanwhile it waits that long
    again, until the rebalance timeout is used up."""
    delay_ms: int                               # the wait now running
    remaining_ms: int                           # what is left of the rebalance timeout


def generation_error(group, generation):
    """A request made in another generation than the group's: the member missed a rebalance."""
    if generation != group.generation:
        return errors.IllegalGenerationError(
            f"generation {generation}, the group is at {group.generation}")
    return None


class GroupCoordinator:
    """One per broker; it serves the groups whose ``__consumer_offsets`` partition the
    broker leads. Its state lives in memory: a crash loses it, and the next leader of the
    partition rebuilds the offsets from the log."""

    def __init__(self, broker):
        self.broker = broker
        self.sim = broker.sim
        self.groups = {}                        # group id -> GroupMetadata
        self.owned_partitions = set()           # __consumer_offsets partitions led here
        self.refusal = None                     # the authorization error of the request at hand

    @property
    def num_partitions(self):
        return self.broker.config["offsets.topic.num.partitions"]

    def partition_for(self, group_id):
        return coordinator_partition(group_id, self.num_partitions)

    # -- becoming (and ceasing to be) coordinator ---------------------------------------
    def on_elected(self, index, log):
        """Load the offsets of every group this partition holds: replay its log, the last
        commit of each (group, topic, partition) winning, as compaction would keep it."""
        self.owned_partitions.add(index)
        for group_id in [g for g in self.groups if self.partition_for(g) == index]:
            del self.groups[group_id]
        for batch in log.batches:
            if batch.control is not None:       # a transaction's marker: its offsets count
                self.on_transaction_completed(index, batch.producer_id,
                                              batch.control == "COMMIT")
                continue
            for record in batch.records(OFFSETS_TOPIC, index):
                decoded = decode_offset_commit(record.key, record.value)
                if decoded is None:
                    continue
                group_id, topic, partition, offset = decoded
                group = self.group(group_id, create=True)
                if batch.transactional and offset is not None:
                    group.pending_txn_offsets.setdefault(batch.producer_id, {})[
                        (topic, partition)] = offset
                elif offset is None:
                    group.offsets.pop((topic, partition), None)
                    group.commit_timestamps.pop((topic, partition), None)
                else:
                    group.offsets[(topic, partition)] = offset
                    group.commit_timestamps[(topic, partition)] = commit_timestamp_of(
                        record.value)
        for group_id in [g for g, group in self.groups.items() if self.partition_for(g) == index
                         and not group.offsets and not group.pending_txn_offsets]:
            del self.groups[group_id]           # every offset deleted: the group is gone

    def on_resigned(self, index):
        self.owned_partitions.discard(index)
        for group_id in [g for g in self.groups if self.partition_for(g) == index]:
            group = self.groups.pop(group_id)
            for member in group.members.values():
                self.answer_waiting(member, errors.NotCoordinatorError(
                    f"group {group_id}: this broker is no longer its coordinator"))

    def check_coordinator(self, group_id):
        """The error to answer before anything else: the request is not authorized (the
        broker sets ``refusal`` while it hands the request over), or this broker is not
        the group's coordinator."""
        if self.refusal is not None:
            return self.refusal
        if not self.broker.caught_up or self.partition_for(group_id) not in self.owned_partitions:
            return errors.NotCoordinatorError(
                f"broker {self.broker.node_id} is not the coordinator of group {group_id!r}")
        return None

    def group(self, group_id, create=False):
        group = self.groups.get(group_id)
        if group is None and create:
            group = self.groups[group_id] = GroupMetadata(group_id)
        return group

    def reply(self, requester, respond, response):
        self.broker.reply(requester, respond, response)

    def note(self, group, text):
        group.history.append((self.sim.now, group.generation, text))

    def transition(self, group, state):
        group.state = state
        group.state_timestamp = self.sim.now

    # -- JoinGroup ---------------------------------------------------------------------
    def handle_join_group(self, requester, group_id, member_id, group_instance_id, client_id,
                          session_timeout_ms, rebalance_timeout_ms, protocols, respond):
        error = self.check_coordinator(group_id)
        config = self.broker.config
        if error is None and not (config["group.min.session.timeout.ms"] <= session_timeout_ms
                                  <= config["group.max.session.timeout.ms"]):
            error = errors.InvalidSessionTimeoutError(
                f"session.timeout.ms={session_timeout_ms} is outside "
                f"[{config['group.min.session.timeout.ms']}, "
                f"{config['group.max.session.timeout.ms']}]")
        group = None
        if error is None:
            # A member id the coordinator never gave out cannot create a group.
            group = self.group(group_id, create=member_id == "")
            if group is None:
                error = errors.UnknownMemberIdError(f"group {group_id} has no member {member_id}")
            elif not group.supports(protocols):
                error = errors.InconsistentGroupProtocolError(
                    f"{client_id} supports {[n for n, _ in protocols]}, which the group does not")
        if error is None and member_id != "":
            error = self.member_error(group, member_id, group_instance_id)
        if error is not None:
            self.reply(requester, respond, JoinResponse(error, member_id=member_id))
            return
        if member_id == "":
            self.join_new_member(requester, group, group_instance_id, client_id,
                                 session_timeout_ms, rebalance_timeout_ms, protocols, respond)
        else:
            self.join_known_member(requester, group, group.members[member_id], session_timeout_ms,
                                   rebalance_timeout_ms, protocols, respond)
        if group.state == PREPARING_REBALANCE:
            self.maybe_complete_join(group)

    def join_new_member(self, requester, group, group_instance_id, client_id, session_timeout_ms,
                        rebalance_timeout_ms, protocols, respond):
        returning = group.static_members.get(group_instance_id) if group_instance_id else None
        unchanged = (returning is not None
                     and group.members[returning].protocols[0][1].topics == protocols[0][1].topics)
        member = self.add_member(group, group_instance_id, client_id, session_timeout_ms,
                                 rebalance_timeout_ms, protocols)
        if unchanged and group.state == STABLE:
            # KIP-345: a static member restarting with the same subscription gets its
            # old partitions back without a rebalance.
            self.reply(requester, respond, JoinResponse(
                None, group.generation, group.protocol, group.leader_id, member.member_id, ()))
            return
        if group.state == PREPARING_REBALANCE and group.generation == 0:
            group.new_member_added = True       # the initial delay waits once more
        member.awaiting_join = (requester, respond)
        self.maybe_prepare_rebalance(group, f"{member.member_id} joined")

    def join_known_member(self, requester, group, member, session_timeout_ms,
                          rebalance_timeout_ms, protocols, respond):
        """A member rejoining. Kafka answers at once, without a rebalance, a follower whose
        metadata (subscription, owned partitions, generation) has not changed; the leader's
        JoinGroup always starts one (it may have seen the topics change)."""
        unchanged = member.protocols == protocols
        if group.state == COMPLETING_REBALANCE and unchanged:
            self.reply(requester, respond, self.join_response(group, member))
            return
        if group.state == STABLE and unchanged and member.member_id != group.leader_id:
            self.reply(requester, respond, self.join_response(group, member))
            return
        member.protocols = protocols
        member.session_timeout_ms = session_timeout_ms
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.awaiting_join = (requester, respond)
        self.maybe_prepare_rebalance(group, f"{member.member_id} rejoined")

    def join_response(self, group, member):
        """The current generation, as JoinGroup tells it: the leader also gets every member's
        subscription, to run the assignor over."""
        everyone = ()
        if member.member_id == group.leader_id:
            everyone = tuple((m.member_id, m.group_instance_id, m.subscription(group.protocol))
                             for m in group.members.values())
        return JoinResponse(None, group.generation, group.protocol, group.leader_id,
                            member.member_id, everyone)

    def add_member(self, group, group_instance_id, client_id, session_timeout_ms,
                   rebalance_timeout_ms, protocols):
        # Kafka: client id + "-" + a random UUID, so ids never repeat, even across coordinators.
        member_id = f"{client_id}-{self.sim.rng.getrandbits(32):08x}"
        old_id = group.static_members.get(group_instance_id) if group_instance_id else None
        member = MemberMetadata(member_id, group_instance_id, client_id, session_timeout_ms,
                                rebalance_timeout_ms, protocols)
        if old_id is not None:
            # KIP-345: the same group.instance.id came back (a restart). It takes over the old
            # member's place and partitions; the old member id is fenced from now on.
            old = group.members.pop(old_id)
            group.pending_sync.discard(old_id)
            self.answer_waiting(old, errors.FencedInstanceIdError(
                f"{group_instance_id} rejoined as {member_id}"))
            member.assignment = old.assignment
            if group.leader_id == old_id:
                group.leader_id = member_id
            self.note(group, f"static member {group_instance_id} came back as {member_id}")
        group.members[member_id] = member
        group.protocol_type = "consumer"
        if group_instance_id:
            group.static_members[group_instance_id] = member_id
        if group.leader_id is None:
            group.leader_id = member_id
        self.heard_from(group, member)
        return member

    def find_member(self, group_id, member_id, group_instance_id):
        """``(group, error)`` for a request from a member: error is None if it may proceed."""
        error = self.check_coordinator(group_id)
        group = self.group(group_id)
        if error is None and group is None:
            error = errors.UnknownMemberIdError(f"group {group_id} has no members")
        return group, error or self.member_error(group, member_id, group_instance_id)

    def member_error(self, group, member_id, group_instance_id):
        """The error for a request from ``member_id``, or None if it may proceed."""
        if group_instance_id:
            current = group.static_members.get(group_instance_id)
            if current is not None and current != member_id:
                return errors.FencedInstanceIdError(
                    f"{member_id} is a stale member id for {group_instance_id} (now {current})")
        if not group.has_member(member_id):
            return errors.UnknownMemberIdError(f"group {group.group_id} has no member {member_id}")
        return None

    # -- the rebalance: PreparingRebalance until everyone rejoined -----------------------
    def maybe_prepare_rebalance(self, group, reason):
        if group.state in (STABLE, COMPLETING_REBALANCE, EMPTY):
            self.prepare_rebalance(group, reason)

    def prepare_rebalance(self, group, reason):
        for member in group.members.values():
            if member.awaiting_sync is not None:
                requester, respond = member.awaiting_sync
                member.awaiting_sync = None
                self.reply(requester, respond, (errors.RebalanceInProgressError(reason), ()))
        self.stop_sync_timer(group)
        # An empty group waits group.initial.rebalance.delay.ms for more members to arrive.
        if group.state == EMPTY:
            delay = self.broker.config["group.initial.rebalance.delay.ms"]
            group.initial_delay = InitialDelay(delay, max(group.rebalance_timeout_ms() - delay, 0))
        else:
            group.initial_delay, delay = None, group.rebalance_timeout_ms()
        self.transition(group, PREPARING_REBALANCE)
        self.note(group, f"rebalance: {reason}")
        self.start_rebalance_timer(group, delay)
        self.maybe_complete_join(group)

    def start_rebalance_timer(self, group, delay_ms):
        if group.rebalance_timer is not None:
            group.rebalance_timer.cancel()
        group.rebalance_timer = self.sim.timer(delay_ms, self.on_rebalance_timeout, group,
                                               self.broker.incarnation)

    def maybe_complete_join(self, group):
        """Kafka's DelayedJoin completes as soon as every member has rejoined; the initial
        delay does not."""
        if group.state == PREPARING_REBALANCE and group.all_joined() and group.initial_delay is None:
            self.complete_join(group)

    def is_current(self, group, incarnation):
        return (self.broker.alive and incarnation == self.broker.incarnation
                and self.groups.get(group.group_id) is group)

    def on_rebalance_timeout(self, group, incarnation):
        if not self.is_current(group, incarnation) or group.state != PREPARING_REBALANCE:
            return
        group.rebalance_timer = None
        waited = group.initial_delay
        if waited is not None:
            if group.new_member_added and waited.remaining_ms > 0:
                # Members keep arriving: wait once more, within the rebalance timeout.
                group.new_member_added = False
                delay = min(self.broker.config["group.initial.rebalance.delay.ms"],
                            waited.remaining_ms)
                group.initial_delay = InitialDelay(delay, max(waited.remaining_ms - waited.delay_ms, 0))
                self.start_rebalance_timer(group, delay)
                return
            group.initial_delay = None
        # Kafka's onCompleteJoin removes the dynamic members that did not rejoin; a static
        # one stays (it is expected back) until its session expires.
        for member in [m for m in group.members.values()
                       if m.awaiting_join is None and m.group_instance_id is None]:
            self.remove_member(group, member, "did not rejoin within the rebalance timeout")
        if group.state == PREPARING_REBALANCE:    # removing the last one may have completed it
            self.complete_join(group)

    def complete_join(self, group):
        if group.rebalance_timer is not None:
            group.rebalance_timer.cancel()
            group.rebalance_timer = None
        group.initial_delay = None
        group.new_member_added = False
        joined = [m for m in group.members.values() if m.awaiting_join is not None]
        if group.members and not joined:
            # Only static members that have not rejoined (maybeElectNewJoinedLeader fails):
            # wait another rebalance timeout, until they come back or their sessions expire.
            self.note(group, "no member rejoined: waiting for the static members")
            self.start_rebalance_timer(group, group.rebalance_timeout_ms())
            return
        group.generation += 1
        if not group.members:
            self.transition(group, EMPTY)
            group.protocol = group.leader_id = None
            self.note(group, "group is empty")
            return
        group.protocol = group.select_protocol()
        if group.leader_id not in group.members or group.members[group.leader_id] not in joined:
            group.leader_id = joined[0].member_id
        self.transition(group, COMPLETING_REBALANCE)
        self.note(group, f"generation {group.generation}: leader {group.leader_id}, "
                         f"members {sorted(group.members)}")
        for member in group.members.values():
            # A static member that has not rejoined is in the generation too: the leader
            # assigns it partitions, and its session (restarted now) decides its fate.
            if member.awaiting_join is not None:
                requester, respond = member.awaiting_join
                member.awaiting_join = None
                self.reply(requester, respond, self.join_response(group, member))
            self.heard_from(group, member)
        # Every member must now send SyncGroup within the rebalance timeout.
        group.pending_sync = set(group.members)
        group.sync_timer = self.sim.timer(group.rebalance_timeout_ms(), self.on_sync_timeout,
                                          group, group.generation, self.broker.incarnation)

    # -- SyncGroup ---------------------------------------------------------------------
    def handle_sync_group(self, requester, group_id, generation, member_id, group_instance_id,
                          assignments, respond):
        group, error = self.find_member(group_id, member_id, group_instance_id)
        error = error or generation_error(group, generation)
        if error is None and group.state == PREPARING_REBALANCE:
            error = errors.RebalanceInProgressError(f"group {group_id} is rebalancing")
        if error is not None:
            self.reply(requester, respond, (error, ()))
            return
        member = group.members[member_id]
        self.synced(group, member_id)
        if group.state == STABLE:
            self.heard_from(group, member)
            self.reply(requester, respond, (None, member.assignment))
            return
        member.awaiting_sync = (requester, respond)
        if member_id == group.leader_id:
            for other in group.members.values():
                other.assignment = tuple(assignments.get(other.member_id, ()))
            self.transition(group, STABLE)
            self.note(group, f"generation {group.generation} stable: "
                             + "; ".join(f"{m.member_id}: {len(m.assignment)}"
                                         for m in group.members.values()))
            for other in group.members.values():
                if other.awaiting_sync is not None:
                    requester, respond = other.awaiting_sync
                    other.awaiting_sync = None
                    self.heard_from(group, other)
                    self.reply(requester, respond, (None, other.assignment))

    def synced(self, group, member_id):
        group.pending_sync.discard(member_id)
        if not group.pending_sync:
            self.stop_sync_timer(group)

    def stop_sync_timer(self, group):
        group.pending_sync = set()
        if group.sync_timer is not None:
            group.sync_timer.cancel()
            group.sync_timer = None

    def on_sync_timeout(self, group, generation, incarnation):
        """Kafka's DelayedSync: members that got the generation but sent no SyncGroup within
        the rebalance timeout are removed, and the group rebalances without them."""
        if (not self.is_current(group, incarnation) or generation != group.generation
                or group.state not in (COMPLETING_REBALANCE, STABLE)):
            return
        group.sync_timer = None
        missing = [group.members[m] for m in sorted(group.pending_sync) if m in group.members]
        group.pending_sync = set()
        if not missing:
            return
        for member in missing:
            self.forget(group, member, "sent no SyncGroup within the rebalance timeout")
        self.prepare_rebalance(group, f"{', '.join(m.member_id for m in missing)} sent no "
                                      f"SyncGroup within the rebalance timeout")

    # -- Heartbeat, sessions and LeaveGroup --------------------------------------------
    def handle_heartbeat(self, requester, group_id, generation, member_id, group_instance_id,
                         respond):
        group, error = self.find_member(group_id, member_id, group_instance_id)
        error = error or generation_error(group, generation)
        if error is None:
            self.heard_from(group, group.members[member_id])
            if group.state == PREPARING_REBALANCE:
                error = errors.RebalanceInProgressError(f"group {group_id} is rebalancing")
        self.reply(requester, respond, error)

    def heard_from(self, group, member):
        """Kafka's completeAndScheduleNextHeartbeatExpiration: the member's session now ends
        ``session.timeout.ms`` from now. One check is scheduled at a time; when it finds the
        deadline moved, it waits for the new one."""
        member.session_deadline_ms = self.sim.now + member.session_timeout_ms
        if not member.session_timer:
            member.session_timer = True
            self.sim.schedule(member.session_timeout_ms, self.on_session_deadline, group, member,
                              self.broker.incarnation)

    def on_session_deadline(self, group, member, incarnation):
        member.session_timer = False
        if not self.is_current(group, incarnation) or group.members.get(member.member_id) is not member:
            return
        if self.sim.now < member.session_deadline_ms:
            member.session_timer = True
            self.sim.schedule(member.session_deadline_ms - self.sim.now, self.on_session_deadline,
                              group, member, incarnation)
        elif not member.is_waiting():     # a waiting member's session restarts when answered
            self.remove_member(group, member, f"sent no heartbeat for session.timeout.ms="
                                              f"{member.session_timeout_ms}")

    def handle_leave_group(self, requester, group_id, member_id, group_instance_id, respond):
        group, error = self.find_member(group_id, member_id, group_instance_id)
        if error is None:
            self.remove_member(group, group.members[member_id], "left the group")
        self.reply(requester, respond, error)

    def forget(self, group, member, why):
        """Take a member out of the group (without starting a rebalance)."""
        del group.members[member.member_id]
        group.pending_sync.discard(member.member_id)
        if group.static_members.get(member.group_instance_id) == member.member_id:
            del group.static_members[member.group_instance_id]
        if group.leader_id == member.member_id:
            group.leader_id = next(iter(group.members), None)
        self.answer_waiting(member, errors.UnknownMemberIdError(f"{member.member_id} {why}"))
        self.note(group, f"{member.member_id} removed: {why}")

    def remove_member(self, group, member, why):
        self.forget(group, member, why)
        if group.state in (STABLE, COMPLETING_REBALANCE):
            self.prepare_rebalance(group, f"{member.member_id} {why}")
        else:
            self.maybe_complete_join(group)

    def answer_waiting(self, member, error):
        if member.awaiting_join is not None:
            requester, respond = member.awaiting_join
            member.awaiting_join = None
            self.reply(requester, respond, JoinResponse(error, member_id=member.member_id))
        if member.awaiting_sync is not None:
            requester, respond = member.awaiting_sync
            member.awaiting_sync = None
            self.reply(requester, respond, (error, ()))

    # -- offsets -----------------------------------------------------------------------
    def commit_error(self, group, generation, member_id, group_instance_id):
        """Kafka's validateOffsetCommit. A consumer outside group management (generation -1,
        no member id) may commit while the group is empty; a member commits with its member
        id and generation, in Stable and in PreparingRebalance (it may not know of the
        rebalance yet, or is committing what it gives up); only CompletingRebalance, when
        the member's new assignment is on its way, answers REBALANCE_IN_PROGRESS."""
        if generation < 0 and group.state == EMPTY:
            return None
        if generation >= 0 or member_id != "" or group_instance_id:
            error = (self.member_error(group, member_id, group_instance_id)
                     or generation_error(group, generation))
            if error is None and group.state == COMPLETING_REBALANCE:
                error = errors.RebalanceInProgressError(
                    f"group {group.group_id} is completing a rebalance")
            return error
        return errors.UnknownMemberIdError(
            f"group {group.group_id} has members: commit as one of them")

    def handle_offset_commit(self, requester, group_id, generation, member_id, group_instance_id,
                             offsets, respond):
        """Commit ``{(topic, partition): offset}``. A commit from a member also counts as its
        heartbeat."""
        error = self.check_coordinator(group_id)
        group = self.group(group_id)
        if error is None:
            if group is None and generation >= 0:
                error = errors.IllegalGenerationError(
                    f"group {group_id} is unknown: generation {generation} is stale")
            else:
                group = group or self.group(group_id, create=True)
                error = self.commit_error(group, generation, member_id, group_instance_id)
        if error is not None:
            self.reply(requester, respond, {tp: error for tp in offsets})
            return
        if group.has_member(member_id):
            self.heard_from(group, group.members[member_id])
        now = self.sim.now
        items = sorted(offsets.items())
        keys = [offset_commit_key(group_id, t, p) for (t, p), _ in items]
        values = [offset_commit_value(o, -1, "", now) for _, o in items]
        index = self.partition_for(group_id)

        def on_appended(response):
            answer = response.error
            if answer is None:
                for tp, offset in items:
                    group.offsets[tp] = offset
                    group.commit_timestamps[tp] = now
            elif not isinstance(answer, (errors.NotCoordinatorError,
                                         errors.CoordinatorNotAvailableError)):
                # GroupMetadataManager maps storage errors to ones a consumer retries.
                answer = (errors.NotCoordinatorError(str(answer))
                          if isinstance(answer, errors.NotLeaderOrFollowerError)
                          else errors.CoordinatorNotAvailableError(str(answer)))
            self.reply(requester, respond, {tp: answer for tp in offsets})

        self.broker.append_records(self.broker, OFFSETS_TOPIC, index, keys, values, [now] * len(keys),
                                   [()] * len(keys), -1,
                                   self.broker.config["offsets.commit.timeout.ms"], on_appended)

    def handle_txn_offset_commit(self, requester, group_id, transactional_id, producer_id,
                                 producer_epoch, generation, member_id, group_instance_id,
                                 offsets, respond):
        """TxnOffsetCommit (``send_offsets_to_transaction()``'s second step): the offsets are
        written in the producer's transaction and stay pending, invisible, until its marker
        reaches this partition: COMMIT makes them the group's, ABORT drops them. A member
        sends its generation and member id, so that a zombie's commit is refused (KIP-447);
        a producer outside the group sends generation -1."""
        error = self.check_coordinator(group_id)
        group = self.group(group_id, create=error is None)
        if error is None and (generation >= 0 or member_id):
            error = (self.member_error(group, member_id, group_instance_id)
                     or generation_error(group, generation))
        if error is not None:
            self.reply(requester, respond, {tp: error for tp in offsets})
            return
        now = self.sim.now
        items = sorted(offsets.items())
        keys = [offset_commit_key(group_id, t, p) for (t, p), _ in items]
        values = [offset_commit_value(o, -1, "", now) for _, o in items]

        def on_appended(response):
            if response.error is None:
                group.pending_txn_offsets.setdefault(producer_id, {}).update(items)
            self.reply(requester, respond, {tp: response.error for tp in offsets})

        self.broker.append_records(self.broker, OFFSETS_TOPIC, self.partition_for(group_id), keys,
                                   values, [now] * len(keys), [()] * len(keys), -1,
                                   self.broker.config["offsets.commit.timeout.ms"], on_appended,
                                   (producer_id, producer_epoch, -1, True))

    def on_transaction_completed(self, index, producer_id, commit):
        """A marker for ``producer_id`` was written to partition ``index``: its pending
        offsets become the groups' (COMMIT) or are dropped (ABORT)."""
        now = self.sim.now
        for group_id, group in self.groups.items():
            if self.partition_for(group_id) != index:
                continue
            pending = group.pending_txn_offsets.pop(producer_id, None)
            if pending and commit:
                group.offsets.update(pending)
                group.commit_timestamps.update({tp: now for tp in pending})

    def expire_offsets(self):
        """Every ``offsets.retention.check.interval.ms``: remove the expired offsets of the
        groups coordinated here and write their tombstones; a group left empty with no
        offsets is gone (Kafka's ``cleanupGroupMetadata``; the group becomes Dead)."""
        now = self.sim.now
        retention_ms = self.broker.config["offsets.retention.minutes"] * 60_000
        for group_id, group in sorted(self.groups.items()):
            if self.partition_for(group_id) not in self.owned_partitions:
                continue
            expired = expired_offsets(group, now, retention_ms)
            for tp in expired:
                del group.offsets[tp]
                group.commit_timestamps.pop(tp, None)
            if expired:
                self.note(group, f"offsets expired: {expired}")
                self.write_tombstones(group_id, expired, lambda response: None)
            if group.state == EMPTY and not group.members and not group.offsets:
                del self.groups[group_id]

    def write_tombstones(self, group_id, partitions, on_appended):
        """Delete committed offsets: a tombstone (a null value) for each, which compaction
        later removes along with the offsets it deletes."""
        keys = [offset_commit_key(group_id, t, p) for t, p in partitions]
        now = self.sim.now
        self.broker.append_records(self.broker, OFFSETS_TOPIC, self.partition_for(group_id), keys,
                                   [None] * len(keys), [now] * len(keys), [()] * len(keys), -1,
                                   self.broker.config["offsets.commit.timeout.ms"], on_appended)

    def handle_delete_group(self, requester, group_id, respond):
        """DeleteGroups: an empty group's offsets are deleted (tombstones) and it is gone.
        NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND if there is no such group."""
        error = self.check_coordinator(group_id)
        group = self.group(group_id) if error is None else None
        if error is None and group is None:
            error = errors.GroupIdNotFoundError(f"no consumer group {group_id!r}")
        if error is None and group.members:
            error = errors.NonEmptyGroupError(
                f"group {group_id!r} has {len(group.members)} member(s)")
        if error is not None:
            self.reply(requester, respond, error)
            return
        del self.groups[group_id]
        partitions = sorted(group.offsets)

        def on_appended(response):
            self.reply(requester, respond, response.error)
        if partitions:
            self.write_tombstones(group_id, partitions, on_appended)
        else:
            self.reply(requester, respond, None)

    def handle_offset_fetch(self, requester, group_id, partitions, respond):
        """The committed offset of each partition, -1 where there is none. While a
        transaction has offsets pending for one of them, UNSTABLE_OFFSET_COMMIT: the consumer
        asks again (it sends ``require_stable``, as Kafka's consumer has since 2.5)."""
        error = self.check_coordinator(group_id)
        group = self.group(group_id) if error is None else None
        if group is not None and any(tp in pending for pending in group.pending_txn_offsets.values()
                                     for tp in partitions):
            error = errors.UnstableOffsetCommitError(
                f"group {group_id}: a transaction's offsets for {sorted(partitions)} are pending")
        if error is not None:
            self.reply(requester, respond, (error, {}))
            return
        offsets = group.offsets if group is not None else {}
        self.reply(requester, respond, (None, {tp: offsets.get(tp, -1) for tp in partitions}))

    def describe(self, group_id):
        group = self.group(group_id)
        if group is None:
            return None
        return {"group_id": group_id, "state": group.state, "generation": group.generation,
                "protocol": group.protocol, "leader": group.leader_id,
                "members": {m.member_id: {"group_instance_id": m.group_instance_id,
                                          "client_id": m.client_id,
                                          "assignment": sorted(m.assignment)}
                            for m in group.members.values()},
                "offsets": dict(sorted(group.offsets.items())),
                "history": list(group.history)}

