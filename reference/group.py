"""The consumer's side of a consumer group (Kafka's ``ConsumerCoordinator``).

A consumer with a ``group.id`` that calls ``subscribe(topics)`` does not choose its
partitions: it finds the group's coordinator, joins the group, and gets its share from the
assignment the group leader computed. From then on it heartbeats every
``heartbeat.interval.ms``, and rejoins whenever the coordinator says the group is
rebalancing.

The two rebalance protocols differ in what a member gives up when it rejoins:

- **eager** (range, roundrobin, sticky): every member revokes *all* its partitions before
  joining, so the whole group stops reading until the new assignment arrives;
- **cooperative** (cooperative-sticky, KIP-429): members keep their partitions while they
  rejoin; afterwards each revokes only what moved away (``partitions_to_revoke``), and if
  anything moved, a second rebalance hands those partitions to their new owners. Nobody
  stops reading the partitions that stay put.

Every ownership change is written to ``cluster.ownership_log`` as
``(time, group_id, client_id, "assigned" | "revoked" | "lost", partitions)``, so a checker
(and a picture) can see who owned what when.
"""

from . import errors
from .coordinator import JoinResponse, Subscription

UNJOINED = "unjoined"
JOINING = "joining"
SYNCING = "syncing"
STABLE = "stable"

# The coordinator says these when a member's place in the group is gone: it must join
# again, and the partitions it owned may already belong to someone else ("lost").
MEMBERSHIP_LOST = (errors.UnknownMemberIdError, errors.IllegalGenerationError)
COORDINATOR_MOVED = (errors.NotCoordinatorError, errors.CoordinatorNotAvailableError,
                     errors.CoordinatorLoadInProgressError)


class RebalanceListener:
    """Kafka's ``ConsumerRebalanceListener``: override what you need. Called inside the
    simulation, so it may only use non-blocking calls (``commit_async``)."""

    def on_partitions_revoked(self, consumer, partitions):
        """Before giving partitions up in a rebalance: the place to commit their offsets."""

    def on_partitions_assigned(self, consumer, partitions):
        """After new partitions arrived."""

    def on_partitions_lost(self, consumer, partitions):
        """The member was removed from the group: these may already be someone else's;
        committing them would fail."""


class ConsumerCoordinator:
    """The group-membership state machine of one consumer."""

    def __init__(self, consumer):
        from .assignors import REBALANCE_PROTOCOL
        self.consumer = consumer
        self.sim = consumer.sim
        config = consumer.config
        self.group_id = config["group.id"]
        self.instance_id = config["group.instance.id"]
        strategies = config["partition.assignment.strategy"]
        self.strategies = (strategies,) if isinstance(strategies, str) else tuple(strategies)
        for name in self.strategies:
            if name not in REBALANCE_PROTOCOL:
                raise errors.InvalidConfigurationError(
                    f"unknown partition.assignment.strategy {name!r}; "
                    f"known: {sorted(REBALANCE_PROTOCOL)}")
        # The group's protocol is the best one every configured assignor supports.
        self.protocol = ("cooperative" if all(REBALANCE_PROTOCOL[s] == "cooperative"
                                              for s in self.strategies) else "eager")
        self.topics = ()
        self.listener = RebalanceListener()
        self.coordinator = None                 # the Broker acting as coordinator
        self.coordinator_incarnation = None
        self.finding = False
        self.member_id = ""
        self.generation = -1
        self.state = UNJOINED
        self.rejoin_needed = False
        self.in_flight = None                   # (what, sent_ms, timeout_ms) of join/sync
        self.join_prepared = False              # onJoinPrepare done: revoked what it must
        self.commits_in_flight = {}             # commit number -> when it was sent
        self.commit_number = 0
        self.token = 0                          # answers carrying an older token are stale
        self.heartbeat_due_ms = None
        self.heartbeat_in_flight = False
        self.heartbeat_sequence = 0
        self.last_poll_ms = self.sim.now
        self.next_auto_commit_ms = None
        self.fatal_error = None
        self.extra_topics = set()               # leader: other members' topics, for metadata
        # StickyAssignor's own state (onAssignment): the last assignment and its generation
        self.last_assignment = ((), -1)

    # -- helpers -----------------------------------------------------------------------
    @property
    def config(self):
        return self.consumer.config

    @property
    def cluster(self):
        return self.consumer.cluster

    def send(self, request, *args):
        broker = self.coordinator
        self.consumer.net.send(self.consumer, broker, broker.handle_group_request, request,
                               self.consumer, self.group_id, *args)

    def record(self, kind, partitions):
        if partitions:
            self.cluster.ownership_log.append((self.sim.now, self.group_id,
                                               self.consumer.node_id, kind,
                                               tuple(sorted(partitions))))

    def owned(self):
        return sorted(self.consumer.assignment)

    # -- driving: called by subscribe(), poll() and the consumer's watchdog ---------------
    def subscribe(self, topics, listener):
        self.topics = tuple(sorted(set(topics)))
        if listener is not None:
            self.listener = listener
        self.rejoin_needed = True
        self.last_poll_ms = self.sim.now
        self.tick()

    def tick(self, in_poll=False):
        """Move the state machine on. Joining happens only inside poll(), as in Kafka: a
        member busy processing a batch holds up the rebalance until it polls again."""
        if self.fatal_error is not None or not self.topics or self.consumer.closed:
            return
        now = self.sim.now
        if self.member_id and now - self.last_poll_ms > self.config["max.poll.interval.ms"]:
            self.poll_timeout_expired()
        if self.in_flight is not None and now - self.in_flight[1] >= self.in_flight[2]:
            self.coordinator_unknown()          # the answer is lost; find the coordinator again
        if self.coordinator is not None and (not self.coordinator.alive or
                                             self.coordinator.incarnation != self.coordinator_incarnation):
            self.coordinator_unknown()          # a dead broker refuses connections at once
        if self.coordinator is None:
            self.find_coordinator()
            return
        if self.rejoin_needed and self.in_flight is None and in_poll:
            self.join()
        # The heartbeat thread keeps the session alive while the application processes,
        # even when a rebalance waits for it (KIP-62).
        if (self.state == STABLE and not self.heartbeat_in_flight
                and now >= self.heartbeat_due_ms):
            self.heartbeat()

    def on_poll(self):
        self.last_poll_ms = self.sim.now
        if self.state == UNJOINED and self.topics and self.fatal_error is None:
            self.rejoin_needed = True
        self.tick(in_poll=True)
        self.maybe_auto_commit()

    # -- FindCoordinator ---------------------------------------------------------------
    def coordinator_unknown(self):
        self.coordinator = None
        self.heartbeat_in_flight = False
        if self.state in (JOINING, SYNCING):
            # The join or sync went to a coordinator that is gone: start it again.
            self.in_flight = None
            self.token += 1
            self.state = UNJOINED
            self.rejoin_needed = True

    def find_coordinator(self):
        if self.finding:
            return
        brokers = [b for b in self.cluster.brokers if b.alive] or self.cluster.brokers
        broker = brokers[self.sim.rng.randrange(len(brokers))]
        self.finding = True
        token = self.token
        self.consumer.net.send(self.consumer, broker, broker.handle_find_coordinator,
                               self.consumer, self.group_id,
                               lambda response: self.on_find_coordinator(token, response))
        # A lost request or answer: ask again after request.timeout.ms.
        self.sim.schedule(self.config["request.timeout.ms"], self.give_up_finding, token)

    def give_up_finding(self, token):
        if self.finding and self.token == token:
            self.finding = False
            self.token += 1

    def on_find_coordinator(self, token, response):
        if token != self.token:
            return
        self.finding = False
        error, broker_id = response
        if isinstance(error, errors.GroupAuthorizationFailedError):
            self.fatal_error = error            # poll() raises it
            return
        if error is not None:
            self.sim.schedule(self.config["retry.backoff.ms"], self.tick)
            return
        self.coordinator = self.cluster.brokers[broker_id]
        self.coordinator_incarnation = self.coordinator.incarnation
        self.tick()

    # -- JoinGroup and SyncGroup -------------------------------------------------------
    def join(self):
        missing = [t for t in self.topics if t not in self.consumer.metadata]
        if missing:
            self.consumer.request_metadata()    # a member joins knowing its topics' partitions
            return
        if not self.join_prepared:
            self.prepare_join()
        if self.commit_pending():
            return                              # joined when the commit is answered
        self.join_prepared = False
        self.rejoin_needed = False
        self.state = JOINING
        protocols = [(name, self.subscription(name)) for name in self.strategies]
        rebalance_timeout = self.config["max.poll.interval.ms"]
        self.token += 1
        token = self.token
        # The coordinator holds a JoinGroup until the rebalance completes: wait that long.
        self.in_flight = ("join", self.sim.now, rebalance_timeout + 5_000)
        self.send("handle_join_group", self.member_id, self.instance_id, self.consumer.node_id,
                  self.config["session.timeout.ms"], rebalance_timeout, protocols,
                  lambda response: self.on_join(token, response))

    def subscription(self, strategy):
        """What the member tells the leader's assignor. The eager StickyAssignor reports its
        last assignment and that generation (in its user data: by now the member has revoked
        them all); the others report what the member owns now (ownedPartitions) and its
        generation."""
        if strategy == "sticky":
            return Subscription(self.topics, *self.last_assignment)
        return Subscription(self.topics, tuple(self.owned()), self.generation)

    def prepare_join(self):
        """Kafka's onJoinPrepare: what a member gives up before it rejoins. Eager: everything.
        Cooperative: only the partitions of topics it no longer subscribes to (the rest it
        keeps reading through the rebalance)."""
        self.join_prepared = True
        owned = self.owned()
        if self.protocol == "eager":
            revoked = owned
        else:
            revoked = [tp for tp in owned if tp[0] not in self.topics]
        if revoked:
            self.revoke(revoked)

    def commit_pending(self):
        """A commit of what the member gave up is still on its way: Kafka sends JoinGroup
        only after it is answered (onJoinPrepare waits for it; a commitSync in the listener
        blocks), so the partitions' next owner starts where this member stopped."""
        patience = self.config["request.timeout.ms"]
        for number, sent in list(self.commits_in_flight.items()):
            if self.sim.now - sent >= patience:
                del self.commits_in_flight[number]      # its answer is lost
        return bool(self.commits_in_flight)

    def on_join(self, token, response: JoinResponse):
        if token != self.token:
            return
        self.in_flight = None
        if response.error is not None:
            self.failed(response.error)
            return
        self.member_id = response.member_id
        self.generation = response.generation
        assignments = {}
        if response.members:
            assignments = self.assign(response.protocol, response.members)
        self.state = SYNCING
        self.token += 1
        token = self.token
        self.in_flight = ("sync", self.sim.now, self.config["request.timeout.ms"])
        self.send("handle_sync_group", self.generation, self.member_id, self.instance_id,
                  assignments, lambda answer: self.on_sync(token, answer))

    def assign(self, protocol, members):
        """The leader's job: run the group's assignor over every member's subscription."""
        from .assignors import Member
        topics = sorted({t for _, _, subscription in members for t in subscription.topics})
        unknown = [t for t in topics if t not in self.consumer.metadata]
        if unknown:
            # Learn the other members' topics, then rebalance again with them.
            self.extra_topics.update(unknown)
            self.consumer.request_metadata()
        partitions = {t: len(self.consumer.metadata[t]) for t in topics if t not in unknown}
        group = [Member(member_id, tuple(t for t in s.topics if t in partitions), instance_id,
                        tuple(tp for tp in s.owned if tp[0] in partitions), s.generation)
                 for member_id, instance_id, s in members]
        return self.run_assignor(protocol, group, partitions)

    def run_assignor(self, name, members, partitions):
        """The engine's assignors go through its seams, so a learner's can run the group."""
        from .assignors import cooperative_sticky_assign
        seams = self.cluster.seams
        if name == "cooperative-sticky":
            return cooperative_sticky_assign(members, partitions, sticky=seams.sticky_assign)
        rule = {"range": seams.range_assign, "roundrobin": seams.round_robin_assign,
                "sticky": seams.sticky_assign}[name]
        return rule(members, partitions)

    def on_sync(self, token, answer):
        if token != self.token:
            return
        self.in_flight = None
        error, assignment = answer
        if error is not None:
            self.failed(error)
            return
        self.install(sorted(assignment))

    def install(self, assignment):
        self.last_assignment = (tuple(assignment), self.generation)
        owned = self.owned()
        self.state = STABLE                     # in the new generation: its commits count
        self.heartbeat_due_ms = self.sim.now + self.config["heartbeat.interval.ms"]
        revoked = [tuple(tp) for tp in self.cluster.seams.partitions_to_revoke(owned, assignment)]
        if revoked:
            self.revoke(revoked)                # cooperative: give up only what moved away
            self.rejoin_needed = True           # ... then rebalance again so it can move
        added = [tp for tp in assignment if tp not in self.consumer.assignment]
        self.consumer.add_partitions(added)
        self.record("assigned", added)
        if self.next_auto_commit_ms is None:
            self.next_auto_commit_ms = self.sim.now + self.config["auto.commit.interval.ms"]
        if added:
            self.listener.on_partitions_assigned(self.consumer, added)
            self.fetch_committed(added)
        self.tick()

    def revoke(self, partitions):
        """Give partitions up in an orderly way: the listener may commit first."""
        if self.config["enable.auto.commit"]:
            self.commit_positions(partitions)
        self.listener.on_partitions_revoked(self.consumer, partitions)
        self.consumer.remove_partitions(partitions)
        self.record("revoked", partitions)

    def lose_partitions(self):
        partitions = self.owned()
        if partitions:
            self.listener.on_partitions_lost(self.consumer, partitions)
            self.consumer.remove_partitions(partitions)
            self.record("lost", partitions)

    def failed(self, error):
        """What a member does with an error from JoinGroup, SyncGroup or Heartbeat."""
        if isinstance(error, errors.FencedInstanceIdError):
            self.fatal_error = error            # another process has our group.instance.id
            self.lose_partitions()
            self.state = UNJOINED
            return
        if isinstance(error, (errors.InvalidSessionTimeoutError,
                              errors.InconsistentGroupProtocolError,
                              errors.GroupAuthorizationFailedError)):
            self.fatal_error = error            # a configuration the group refuses, or ACLs
            return
        if isinstance(error, COORDINATOR_MOVED):
            self.coordinator_unknown()
        elif isinstance(error, MEMBERSHIP_LOST):
            self.reset_membership(keep_member_id=isinstance(error, errors.IllegalGenerationError))
        if self.state != STABLE:
            self.state = UNJOINED               # the join or sync failed: start over
            self.rejoin_needed = True
        elif isinstance(error, errors.RebalanceInProgressError):
            self.rejoin_needed = True
        self.sim.schedule(self.config["retry.backoff.ms"], self.tick)

    def reset_membership(self, keep_member_id=False):
        self.lose_partitions()
        self.generation = -1
        if not keep_member_id:
            self.member_id = ""
        self.state = UNJOINED

    # -- Heartbeat, LeaveGroup, max.poll.interval.ms -----------------------------------
    def heartbeat(self):
        self.heartbeat_in_flight = True
        self.heartbeat_sequence += 1
        sequence, token = self.heartbeat_sequence, self.token
        self.send("handle_heartbeat", self.generation, self.member_id, self.instance_id,
                  lambda error: self.on_heartbeat(sequence, token, error))
        self.sim.schedule(self.config["request.timeout.ms"], self.heartbeat_lost, sequence)

    def heartbeat_lost(self, sequence):
        if self.heartbeat_in_flight and sequence == self.heartbeat_sequence:
            self.heartbeat_in_flight = False
            self.coordinator_unknown()

    def on_heartbeat(self, sequence, token, error):
        if sequence != self.heartbeat_sequence:
            return
        self.heartbeat_in_flight = False
        self.heartbeat_due_ms = self.sim.now + self.config["heartbeat.interval.ms"]
        if error is None or token != self.token:
            return                      # an answer about a membership we have since left
        if isinstance(error, errors.RebalanceInProgressError):
            self.rejoin_needed = True
            self.tick()
        else:
            self.failed(error)

    def poll_timeout_expired(self):
        """The application did not call poll() within max.poll.interval.ms: it is stuck,
        so it should not keep its partitions. A dynamic member leaves the group at once; a
        static one stops heartbeating and is removed after session.timeout.ms."""
        if self.instance_id is None and self.coordinator is not None:
            self.send("handle_leave_group", self.member_id, self.instance_id, lambda error: None)
        self.token += 1
        self.in_flight = None
        self.heartbeat_in_flight = False
        self.reset_membership(keep_member_id=self.instance_id is not None)
        self.rejoin_needed = False              # until the application polls again

    def leave(self):
        """On close: a dynamic member leaves so its partitions move at once; a static member
        does not (KIP-345): it is expected back, and keeps its partitions meanwhile."""
        if self.member_id and self.instance_id is None and self.coordinator is not None:
            self.send("handle_leave_group", self.member_id, None, lambda error: None)
        self.record("revoked", self.owned())
        self.token += 1                 # answers to requests still in flight are ignored
        self.topics = ()                # and nothing starts again
        self.state = UNJOINED

    # -- offsets -----------------------------------------------------------------------
    def fetch_committed(self, partitions):
        token = self.token
        self.send("handle_offset_fetch", list(partitions),
                  lambda answer: self.on_committed(token, partitions, answer))

    def on_committed(self, token, partitions, answer):
        error, offsets = answer
        if error is not None:
            if isinstance(error, COORDINATOR_MOVED):
                self.coordinator_unknown()
            self.sim.schedule(self.config["retry.backoff.ms"], self.retry_fetch_committed,
                              partitions)
            return
        for tp in partitions:
            state = self.consumer.assignment.get(tp)
            if state is not None and state.awaiting_committed:
                state.awaiting_committed = False
                if offsets.get(tp, -1) >= 0:
                    state.position = offsets[tp]    # resume after the last committed record
        self.consumer.fetch_again(0)

    def retry_fetch_committed(self, partitions):
        waiting = [tp for tp in partitions
                   if tp in self.consumer.assignment and self.consumer.assignment[tp].awaiting_committed]
        if waiting and self.coordinator is not None:
            self.fetch_committed(waiting)
        elif waiting:
            self.tick()
            self.sim.schedule(self.config["retry.backoff.ms"], self.retry_fetch_committed, waiting)

    def commit_positions(self, partitions=None, callback=None):
        """Commit the position (next offset to read) of each owned partition: what
        auto-commit and an orderly revoke do."""
        offsets = {tp: state.position for tp, state in self.consumer.assignment.items()
                   if state.position is not None and (partitions is None or tp in partitions)}
        if offsets:
            self.commit(offsets, callback or (lambda error: None))

    def commit(self, offsets, callback):
        if self.coordinator is None:
            self.sim.schedule(0, callback, errors.CoordinatorNotAvailableError(
                f"no coordinator known for {self.group_id} yet"))
            self.find_coordinator()
            return
        if not self.topics:
            # assign(), not subscribe(): a commit outside group management (generation -1)
            self.send("handle_offset_commit", -1, "", None, dict(offsets),
                      lambda answer: self.on_commit(self.token, answer, callback))
            return
        if self.state != STABLE:
            self.sim.schedule(0, callback, errors.RebalanceInProgressError(
                f"group {self.group_id} is rebalancing"))
            return
        token = self.token
        self.commit_number += 1
        number = self.commit_number
        self.commits_in_flight[number] = self.sim.now
        self.send("handle_offset_commit", self.generation, self.member_id, self.instance_id,
                  dict(offsets), lambda answer: self.on_commit(token, answer, callback, number))

    def on_commit(self, token, answer, callback, number=None):
        if self.commits_in_flight.pop(number, None) is not None and self.join_prepared:
            self.sim.schedule(0, self.resume_join)
        error = next((e for e in answer.values() if e is not None), None)
        if isinstance(error, MEMBERSHIP_LOST + (errors.FencedInstanceIdError,)):
            if token == self.token:
                self.failed(error)
            error = errors.CommitFailedError(
                f"{error}: the group rebalanced and these partitions may now be another "
                f"member's; they will be read again from the last committed offset")
        elif isinstance(error, COORDINATOR_MOVED) and token == self.token:
            self.coordinator_unknown()
        callback(error)

    def resume_join(self):
        """The commits a rejoin waited for are answered: send the JoinGroup (the member is
        still inside the poll() that started the join)."""
        if self.join_prepared and self.in_flight is None and self.coordinator is not None:
            self.tick(in_poll=True)

    def maybe_auto_commit(self):
        if (self.config["enable.auto.commit"] and self.state == STABLE
                and self.next_auto_commit_ms is not None and self.sim.now >= self.next_auto_commit_ms):
            self.next_auto_commit_ms = self.sim.now + self.config["auto.commit.interval.ms"]
            self.commit_positions()
