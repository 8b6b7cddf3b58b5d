"""The controller: broker liveness, leader elections and the ISR's record of truth.

Modelled on KRaft's active controller (``QuorumController``), simplified in one way the
learner should know: the controller itself never fails (KRaft replicates it with Raft;
that is a course of its own). Everything it decides is appended to a metadata log that
brokers replicate by long-polling it; their requests double as heartbeats.

- A broker whose heartbeats stop for ``broker.session.timeout.ms`` is *fenced*: removed
  from every ISR it is in (unless it is the last member) and replaced as leader.
- A fenced broker that heartbeats again is unfenced; offline partitions it can lead get
  a leader.
- Leaders change ISRs only through AlterPartition, which carries the leader epoch and the
  partition epoch, so a deposed leader's stale request is refused.
- A partition reassignment (KIP-455) first adds the target's new replicas, which copy the
  log as followers; once the whole target is in the ISR, the AlterPartition that says so
  also removes the replicas that are not in the target.
"""

from . import errors
from .coordinator import OFFSETS_TOPIC
from .transaction_coordinator import TRANSACTION_STATE_TOPIC
from .metadata import BrokerRecord, PartitionRecord, PartitionRegistration, TopicRecord

SESSION_CHECK_INTERVAL_MS = 500


class BrokerRegistration:
    __slots__ = ("broker_id", "incarnation", "fenced", "last_heartbeat_ms")

    def __init__(self, broker_id, incarnation, now):
        self.broker_id = broker_id
        self.incarnation = incarnation
        self.fenced = False
        self.last_heartbeat_ms = now


class Controller:
    node_id = "controller"

    def __init__(self, cluster):
        self.cluster = cluster
        self.sim = cluster.sim
        self.net = cluster.network
        self.seams = cluster.seams
        self.config = cluster.broker_config
        self.alive = True
        self.incarnation = 0
        self.topics = {}              # name -> TopicRecord
        self.partitions = {}          # (topic, partition) -> PartitionRegistration
        self.brokers = {}             # broker id -> BrokerRegistration
        self.metadata_log = []        # every record, in order
        self.waiting_heartbeats = []  # brokers long-polling the metadata log
        self.events = []              # (time, description) of every decision, for learners
        self.unclean_elections = 0
        self.next_producer_id = 0     # ProducerIdManager's counter (KIP-730)

    def start(self):
        def check():
            self.fence_expired_sessions()
            self.sim.schedule(SESSION_CHECK_INTERVAL_MS, check)
        self.sim.schedule(SESSION_CHECK_INTERVAL_MS, check)
        if self.config["auto.leader.rebalance.enable"]:
            self.sim.schedule(self.config["leader.imbalance.check.interval.seconds"] * 1000,
                              self.rebalance_leaders)

    def rebalance_leaders(self):
        """auto.leader.rebalance.enable: every leader.imbalance.check.interval.seconds, a
        preferred leader election for every partition led by another replica (KRaft's
        controller ignores leader.imbalance.per.broker.percentage)."""
        self.elect_preferred_leaders(reason="auto leader rebalance")
        self.sim.schedule(self.config["leader.imbalance.check.interval.seconds"] * 1000,
                          self.rebalance_leaders)

    def allocate_producer_id(self):
        """A producer id no other producer has had (Kafka hands brokers blocks of 1,000 from
        the controller; one at a time is the same to the producers)."""
        self.next_producer_id += 1
        return self.next_producer_id - 1

    # -- the metadata log ------------------------------------------------------------------
    def append(self, record):
        self.metadata_log.append(record)
        if isinstance(record, PartitionRecord):
            self.partitions[(record.topic, record.partition)] = record.registration
        elif isinstance(record, TopicRecord):
            self.topics[record.name] = record
        waiting, self.waiting_heartbeats = self.waiting_heartbeats, []
        for broker, offset, incarnation, respond in waiting:
            self.answer_heartbeat(broker, offset, incarnation, respond)

    def answer_heartbeat(self, broker, offset, incarnation, respond):
        self.net.send(self, broker, respond, self.metadata_log[offset:], incarnation)

    def log_event(self, text):
        self.events.append((self.sim.now, text))

    # -- topics --------------------------------------------------------------------------
    def create_topic(self, name, num_partitions, replication_factor, configs, assignment=None):
        """CreateTopics. ``assignment``, when given, is a manual assignment already
        validated (``validate_topic_assignment``): one replica list per partition."""
        live = sorted(b for b, r in self.brokers.items() if not r.fenced)
        if replication_factor > len(self.brokers):
            raise errors.InvalidReplicationFactorError(
                f"replication factor {replication_factor} is larger than the "
                f"{len(self.brokers)} available brokers")
        self.append(TopicRecord(name, num_partitions, dict(configs)))
        n = len(self.brokers)
        for p in range(num_partitions):
            # The manual assignment, or round-robin placement (Kafka's rack-unaware
            # assignment without the random start).
            replicas = (tuple(assignment[p]) if assignment is not None
                        else tuple((p + i) % n for i in range(replication_factor)))
            isr = tuple(r for r in replicas if r in live) or replicas[:1]
            leader = next((r for r in replicas if r in live), -1)
            self.append(PartitionRecord(name, p, PartitionRegistration(replicas, isr, leader, 0, 0)))
        self.log_event(f"created topic {name} with {num_partitions} partition(s), "
                       f"replication factor {replication_factor}")

    def handle_create_offsets_topic(self):
        """Create ``__consumer_offsets`` on a broker's request (once)."""
        self.handle_create_internal_topic(OFFSETS_TOPIC)

    def handle_create_internal_topic(self, topic):
        """Create ``__consumer_offsets`` or ``__transaction_state`` on a broker's request
        (once), compacted, with the settings Kafka gives each."""
        if topic in self.topics:
            return
        if topic == OFFSETS_TOPIC:
            replication_factor = min(self.config["offsets.topic.replication.factor"],
                                     len(self.brokers))
            self.create_topic(OFFSETS_TOPIC, self.config["offsets.topic.num.partitions"],
                              replication_factor, {"cleanup.policy": "compact", "segment.bytes":
                                                   self.config["offsets.topic.segment.bytes"]})
        elif topic == TRANSACTION_STATE_TOPIC:
            replication_factor = min(self.config["transaction.state.log.replication.factor"],
                                     len(self.brokers))
            self.create_topic(TRANSACTION_STATE_TOPIC,
                              self.config["transaction.state.log.num.partitions"],
                              replication_factor, {
                                  "cleanup.policy": "compact",
                                  "min.insync.replicas": min(
                                      self.config["transaction.state.log.min.isr"],
                                      replication_factor),
                                  "segment.bytes":
                                      self.config["transaction.state.log.segment.bytes"]})
        else:
            raise ValueError(f"{topic} is not an internal topic")

    def topic_config(self, topic, name):
        return self.topics[topic].configs.get(name, self.config[name])

    # -- brokers ---------------------------------------------------------------------------
    def register_broker(self, broker_id):
        self.brokers[broker_id] = BrokerRegistration(broker_id, 0, self.sim.now)
        self.append(BrokerRecord(broker_id, False))

    def handle_broker_heartbeat(self, broker, broker_id, incarnation, metadata_offset, respond):
        registration = self.brokers[broker_id]
        now = self.sim.now
        registration.last_heartbeat_ms = now
        restarted = incarnation > registration.incarnation
        registration.incarnation = max(registration.incarnation, incarnation)
        if registration.fenced:
            self.unfence(broker_id)
        # A broker that just (re)started is answered at once: it serves nothing until it
        # knows it has caught up with the metadata log.
        if metadata_offset < len(self.metadata_log) or restarted:
            self.answer_heartbeat(broker, metadata_offset, incarnation, respond)
        else:
            self.waiting_heartbeats.append((broker, metadata_offset, incarnation, respond))
            self.sim.schedule(self.config["broker.heartbeat.interval.ms"],
                              self.release_heartbeat, broker, respond)

    def release_heartbeat(self, broker, respond):
        for i, (waiting_broker, offset, incarnation, waiting_respond) in enumerate(
                self.waiting_heartbeats):
            if waiting_respond is respond:
                del self.waiting_heartbeats[i]
                self.answer_heartbeat(waiting_broker, offset, incarnation, respond)
                return

    def live_brokers(self):
        return {b for b, r in self.brokers.items() if not r.fenced}

    def fence_expired_sessions(self):
        timeout = self.config["broker.session.timeout.ms"]
        now = self.sim.now
        for broker_id, registration in sorted(self.brokers.items()):
            if not registration.fenced and now - registration.last_heartbeat_ms > timeout:
                self.fence(broker_id)

    def fence(self, broker_id):
        """The broker's session expired: take it out of every ISR and every leadership."""
        self.brokers[broker_id].fenced = True
        self.append(BrokerRecord(broker_id, True))
        self.log_event(f"broker {broker_id} fenced: no heartbeat for "
                       f"{self.config['broker.session.timeout.ms']} ms")
        live = self.live_brokers()
        for key, reg in sorted(self.partitions.items()):
            if broker_id not in reg.replicas:
                continue
            isr = tuple(r for r in reg.isr if r != broker_id) or reg.isr
            if reg.leader == broker_id or reg.leader == -1:
                self.elect(key, reg, isr, live, reason=f"leader {broker_id} fenced")
            elif isr != reg.isr:
                self.change(key, reg, isr=isr)

    def unfence(self, broker_id):
        self.brokers[broker_id].fenced = False
        self.append(BrokerRecord(broker_id, False))
        self.log_event(f"broker {broker_id} unfenced: heartbeating again")
        live = self.live_brokers()
        for key, reg in sorted(self.partitions.items()):
            if reg.leader == -1 and broker_id in reg.replicas:
                self.elect(key, reg, reg.isr, live, reason=f"broker {broker_id} returned")

    def elect_preferred_leaders(self, partitions=None, reason="preferred leader election"):
        """ElectLeaders (PREFERRED): each partition whose preferred replica (the first of its
        assignment) is alive and in the ISR, but not leading, gets it back as leader.
        Returns the partitions whose leader moved."""
        live = self.live_brokers()
        moved = []
        for key, reg in sorted(self.partitions.items()):
            if partitions is not None and key not in partitions:
                continue
            preferred = reg.replicas[0]
            if reg.leader != preferred and preferred in reg.isr and preferred in live:
                self.change(key, reg, leader=preferred)
                self.log_event(f"{key[0]}-{key[1]}: preferred replica {preferred} elected "
                               f"leader again (was {reg.leader}; {reason})")
                moved.append(key)
        return moved

    # -- elections and ISR changes ----------------------------------------------------------
    def elect(self, key, reg, isr, live, reason):
        unclean_enabled = bool(self.topic_config(key[0], "unclean.leader.election.enable"))
        # A seam's answer is used only as its contract says: (leader, isr, unclean).
        leader, elected_isr, unclean = self.seams.elect_leader(reg.replicas, isr, live,
                                                               unclean_enabled)
        new_isr = tuple(elected_isr) or isr
        if leader == reg.leader and new_isr == reg.isr:
            return
        self.change(key, reg, isr=new_isr, leader=leader)
        topic, partition = key
        if leader < 0:
            self.log_event(f"{topic}-{partition} offline ({reason}): no live in-sync replica")
        elif unclean:
            self.unclean_elections += 1
            self.log_event(f"{topic}-{partition}: UNCLEAN election of broker {leader} "
                           f"({reason}); records it lacks are lost")
        else:
            self.log_event(f"{topic}-{partition}: broker {leader} elected leader "
                           f"({reason}), ISR {list(new_isr)}")

    def change(self, key, reg, isr=None, leader=None):
        isr = reg.isr if isr is None else tuple(isr)
        leader = reg.leader if leader is None else leader
        leader_epoch = reg.leader_epoch + 1 if leader != reg.leader else reg.leader_epoch
        new = reg._replace(isr=isr, leader=leader, leader_epoch=leader_epoch,
                           partition_epoch=reg.partition_epoch + 1)
        self.append(PartitionRecord(key[0], key[1], new))
        return new

    def handle_alter_partition(self, broker, broker_id, topic, partition, leader_epoch,
                               partition_epoch, new_isr, respond):
        key = (topic, partition)
        reg = self.partitions.get(key)
        error = None
        if reg is None:
            error = errors.UnknownTopicOrPartitionError(f"{topic}-{partition}")
        elif reg.leader != broker_id or leader_epoch != reg.leader_epoch:
            error = errors.FencedLeaderEpochError(
                f"{topic}-{partition}: broker {broker_id} at epoch {leader_epoch} is not the "
                f"leader (leader {reg.leader}, epoch {reg.leader_epoch})")
        elif partition_epoch != reg.partition_epoch:
            error = errors.InvalidUpdateVersionError(
                f"{topic}-{partition}: partition epoch {partition_epoch} is stale "
                f"(now {reg.partition_epoch})")
        else:
            live = self.live_brokers()
            added = [r for r in new_isr if r not in reg.isr]
            if any(r not in live for r in added):
                error = errors.IneligibleReplicaError(
                    f"{topic}-{partition}: cannot add fenced broker(s) "
                    f"{[r for r in added if r not in live]} to the ISR")
        if error is not None:
            self.net.send(self, broker, respond, (error, reg))
            return
        removed = [r for r in reg.isr if r not in new_isr]
        if reassignment_in_progress(reg):
            new = self.change_assignment(key, reg, reg.replicas, new_isr,
                                         reg.adding_replicas, reg.removing_replicas)
        else:
            new = self.change(key, reg, isr=new_isr)
        if added or removed:
            what = (f"shrank, removing {removed}" if removed else f"expanded, adding {added}")
            self.log_event(f"{topic}-{partition}: ISR {what}: now {list(new_isr)}")
        if reassignment_in_progress(reg) and not reassignment_in_progress(new):
            self.log_event(f"{topic}-{partition}: reassignment completed: replicas "
                           f"{list(new.replicas)}, ISR {list(new.isr)}")
            self.log_leader_change(key, reg, new, "reassignment completed")
        if new.leader != broker_id:
            # Completing the reassignment removed the sender, and with it its leadership.
            self.net.send(self, broker, respond, (errors.NewLeaderElectedError(
                f"{topic}-{partition}: leader now {new.leader}"), new))
            return
        self.net.send(self, broker, respond, (None, new))

    # -- partition reassignment (KIP-455) -------------------------------------------------
    def alter_partition_reassignments(self, targets):
        """AlterPartitionReassignments: ``targets`` maps ``(topic, partition)`` to its new
        replica list, or to None to cancel its reassignment. Each partition succeeds or fails
        on its own; returns ``{(topic, partition): error or None}``."""
        results = {}
        for key, target in targets.items():
            try:
                self.alter_partition_reassignment(key, target)
                results[key] = None
            except errors.KafkaError as error:
                results[key] = error
        return results

    def alter_partition_reassignment(self, key, target):
        reg = self.partitions.get(key)
        if reg is None:
            raise errors.UnknownTopicOrPartitionError(f"no partition {key!r}")
        if target is None:
            self.cancel_partition_reassignment(key, reg)
        else:
            self.change_partition_reassignment(key, reg, target)

    def change_partition_reassignment(self, key, reg, target):
        """Start moving the partition to ``target``: its replicas become the target followed
        by the replicas being removed; the new ones join as followers and copy the log. A
        target whose replicas are all in sync already (the same brokers in a new order, say)
        completes at once."""
        self.validate_manual_partition_assignment(target)
        replicas, adding, removing = reassignment_replicas(reg.replicas, target)
        new = self.change_assignment(key, reg, replicas, reg.isr, adding, removing)
        name = f"{key[0]}-{key[1]}"
        if reassignment_in_progress(new):
            self.log_event(f"{name}: reassignment to {list(target)} started: replicas "
                           f"{list(new.replicas)}, adding {list(new.adding_replicas)}, "
                           f"removing {list(new.removing_replicas)}")
        elif new is not reg:
            self.log_event(f"{name}: reassigned to {list(new.replicas)} at once (every target "
                           f"replica already in sync)")
        self.log_leader_change(key, reg, new, "reassignment")

    def cancel_partition_reassignment(self, key, reg):
        """Go back: the replicas being added leave, those being removed stay (in the order of
        the current list, so not always the original order)."""
        name = f"{key[0]}-{key[1]}"
        if not reassignment_in_progress(reg):
            raise errors.NoReassignmentInProgressError(f"{name} is not being reassigned")
        replicas, isr, unclean = reverted_reassignment(reg.replicas, reg.isr, reg.adding_replicas)
        if unclean and not self.topic_config(key[0], "unclean.leader.election.enable"):
            raise errors.InvalidReplicaAssignmentError(
                f"cannot cancel the reassignment of {name}: only replicas being added are in "
                f"sync, so going back needs an unclean leader election")
        new = self.change_assignment(key, reg, replicas, isr)
        self.log_event(f"{name}: reassignment cancelled: replicas back to {list(new.replicas)}"
                       + (" (UNCLEAN: records only the removed replicas had are lost)"
                          if unclean else ""))
        self.unclean_elections += unclean
        self.log_leader_change(key, reg, new, "reassignment cancelled")

    def list_partition_reassignments(self):
        """ListPartitionReassignments: every partition being reassigned, with its replicas and
        the replicas being added and removed."""
        return {key: {"replicas": list(reg.replicas), "adding": list(reg.adding_replicas),
                      "removing": list(reg.removing_replicas)}
                for key, reg in sorted(self.partitions.items()) if reassignment_in_progress(reg)}

    def validate_manual_partition_assignment(self, replicas, replication_factor=None):
        """ReplicationControlManager.validateManualPartitionAssignment: a replica list names
        registered brokers, each once (and as many as the partitions before it, if any)."""
        if not isinstance(replicas, (list, tuple)) or not replicas:
            raise errors.InvalidReplicaAssignmentError(
                f"a replica list is a non-empty list of broker ids, not {replicas!r}")
        for broker_id in replicas:
            if type(broker_id) is not int or broker_id not in self.brokers:
                raise errors.InvalidReplicaAssignmentError(
                    f"the replica list {list(replicas)} names broker {broker_id!r}, but no "
                    f"such broker is registered")
            if replicas.count(broker_id) > 1:
                raise errors.InvalidReplicaAssignmentError(
                    f"the replica list {list(replicas)} names broker {broker_id} more than once")
        if replication_factor is not None and len(replicas) != replication_factor:
            raise errors.InvalidReplicaAssignmentError(
                f"the replica list {list(replicas)} has {len(replicas)} replica(s), but the "
                f"partitions before it have {replication_factor}")

    def validate_topic_assignment(self, assignment):
        """A new topic's manual assignment (CreateTopics with ``assignments``): one valid
        replica list per partition, all of one length, each with a broker that is not fenced.
        Returns it as tuples."""
        for replicas in assignment:
            self.validate_manual_partition_assignment(replicas, len(assignment[0]))
            if not any(b in self.live_brokers() for b in replicas):
                raise errors.InvalidReplicaAssignmentError(
                    f"every broker of the replica list {list(replicas)} is fenced")
        return [tuple(replicas) for replicas in assignment]

    def change_assignment(self, key, reg, replicas, isr, adding=(), removing=()):
        """What KRaft's PartitionChangeBuilder does when a partition's replicas change:
        complete the reassignment if the ISR now allows it; keep the leader if it is still a
        live in-sync replica, else elect the first live in-sync one; bump the leader epoch
        when a replica leaves, so that it is fenced. Returns the new registration (``reg``
        itself when nothing changes)."""
        if adding or removing:
            completed = completed_reassignment(replicas, isr, removing)
            if completed is not None:
                (replicas, isr), adding, removing = completed, (), ()
        live = self.live_brokers()
        leader = reg.leader
        if leader not in isr or leader not in live:
            leader = next((r for r in replicas if r in isr and r in live), -1)
        new = reg._replace(replicas=tuple(replicas), isr=tuple(isr), leader=leader,
                           adding_replicas=tuple(adding), removing_replicas=tuple(removing))
        if new == reg:
            return reg
        replica_left = not set(reg.replicas) <= set(replicas)
        new = new._replace(leader_epoch=reg.leader_epoch + (leader != reg.leader or replica_left),
                           partition_epoch=reg.partition_epoch + 1)
        self.append(PartitionRecord(key[0], key[1], new))
        return new

    def log_leader_change(self, key, reg, new, reason):
        if new.leader == reg.leader:
            return
        name = f"{key[0]}-{key[1]}"
        if reg.leader >= 0 and reg.leader not in new.replicas:
            reason += f": broker {reg.leader} is no longer a replica"
        if new.leader < 0:
            self.log_event(f"{name} offline ({reason}): no live in-sync replica")
        else:
            self.log_event(f"{name}: broker {new.leader} elected leader ({reason}), "
                           f"ISR {list(new.isr)}")


# -- reassignment rules (Kafka's PartitionReassignmentReplicas and PartitionReassignmentRevert)
def reassignment_in_progress(reg):
    return bool(reg.adding_replicas or reg.removing_replicas)


def reassignment_replicas(current, target):
    """``(replicas, adding, removing)`` while moving from ``current`` to ``target``: the
    target followed by the replicas being removed; ``adding`` and ``removing`` in broker id
    order."""
    removing = tuple(sorted(set(current) - set(target)))
    adding = tuple(sorted(set(target) - set(current)))
    return tuple(target) + removing, adding, removing


def completed_reassignment(replicas, isr, removing):
    """``maybeCompleteReassignment``: the ``(replicas, isr)`` a reassignment ends with, or None
    while it cannot end: every target replica must be in the ISR first. The replicas being
    removed then leave both lists."""
    target = tuple(r for r in replicas if r not in removing)
    new_isr = tuple(r for r in isr if r not in removing)
    if not new_isr or not set(target) <= set(new_isr):
        return None
    return target, new_isr


def reverted_reassignment(replicas, isr, adding):
    """``PartitionReassignmentRevert``: the ``(replicas, isr, unclean)`` a cancelled
    reassignment goes back to. The replicas being added leave both lists; if only they were
    in sync, the first remaining replica becomes the ISR alone: an unclean election."""
    original = tuple(r for r in replicas if r not in adding)
    new_isr = tuple(r for r in isr if r not in adding)
    if new_isr:
        return original, new_isr, False
    return original, original[:1], True
