"""The deterministic simulator: a virtual clock, a seeded random source and a network.

Nothing in the engine reads the wall clock, the global ``random`` module or a socket.
Everything that happens is an event on one queue, ordered by (time, sequence number),
so one seed replays one history exactly.
"""

import random
from heapq import heapify, heappop as _pop, heappush as _push

_NEVER = float("inf")       # a time no event reaches


class Timer:
    """A scheduled callback that can be cancelled before it fires."""

    __slots__ = ("cancelled",)

    def __init__(self):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class StepBudgetExceeded(RuntimeError):
    """The simulation ran more events than its ``event_budget`` allows."""


class _Halted(Exception):
    """Raised by the entry ``halt()`` queues, to end the run in progress."""


class Simulator:
    """A discrete-event loop over simulated milliseconds. ``event_budget`` caps the events a
    whole run may take (a grader running a learner's rule sets it: a rule that makes the
    cluster retry forever must end the run, not the grader's patience)."""

    def __init__(self, seed=0, event_budget=None):
        self.seed = seed
        self.now = 0
        self.rng = random.Random(seed)
        self._queue = []
        self._sequence = 0
        self._running = False
        self._halting = False
        self.events_run = 0
        self.event_budget = event_budget
        self.network = None         # the Network whose messages this loop delivers

    @property
    def running(self):
        """True inside an event: blocking calls (run_until) are not allowed then."""
        return self._running

    def schedule(self, delay_ms, callback, *args):
        """Run ``callback(*args)`` ``delay_ms`` from now."""
        self._sequence = sequence = self._sequence + 1
        _push(self._queue, (self.now + delay_ms, sequence, callback, args))

    def halt(self):
        """Called inside an event: the run in progress (``run_until``) ends, returning True,
        as soon as this event is over, as if its ``until()`` had become true. Cheaper than an
        ``until`` that would be asked after every event."""
        if self._running and not self._halting:
            self._halting = True
            # Sequence -1 puts it ahead of every other event due now: it runs next.
            _push(self._queue, (self.now, -1, self._halt_now, ()))

    def _halt_now(self):
        self._halting = False
        raise _Halted()

    def timer(self, delay_ms, callback, *args):
        """Like ``schedule``, but returns a ``Timer`` whose ``cancel()`` stops the call."""
        timer = Timer()
        self.schedule(delay_ms, self._fire, timer, callback, args)
        return timer

    @staticmethod
    def _fire(timer, callback, args):
        if not timer.cancelled:
            callback(*args)

    def step(self):
        """Run the next event; False when none is left."""
        if not self._queue:
            return False
        entry = _pop(self._queue)
        self.now = entry[0]
        self.events_run += 1
        if len(entry) == 4:
            entry[2](*entry[3])
        else:
            self.network.deliver(entry)
        return True

    def run_until(self, time_ms=None, until=None, max_events=None):
        """Run events up to simulated ``time_ms`` (then set the clock there), or until
        ``until()`` is true, whichever comes first. Returns True if ``until`` became true."""
        if self._running:
            raise RuntimeError("the simulator is already running: blocking calls such as "
                               "flush() or poll() cannot be made from inside a callback")
        self._running = True
        queue = self._queue
        pop = _pop
        limit = _NEVER if time_ms is None else time_ms
        ran = 0
        budgeted = self.event_budget is not None and (
            max_events is None or self.event_budget - self.events_run < max_events)
        if budgeted:
            max_events = max(self.event_budget - self.events_run, 0)
        # Entries are (time, sequence, callback, args), or, for a message, the same with
        # (destination, its incarnation when sent, link) added: whether it arrives is decided
        # here, without a Python call of its own (half of all events are messages).
        network = self.network
        cut = network._cut if network is not None else None
        # (a link that corrupts what it carries also needs network.deliver)
        lossy = network is not None and (network.drop_rate > 0 or bool(network._corrupt))
        try:
            if until is not None and until():
                return True
            if until is None and max_events is None:
                # The innermost loop of every run: nothing to check between events.
                while queue and queue[0][0] <= limit:
                    entry = pop(queue)
                    self.now = entry[0]
                    if len(entry) == 4:
                        entry[2](*entry[3])
                    elif (entry[4].alive and entry[4].incarnation == entry[5]
                          and not (cut and entry[6] in cut) and not lossy):
                        entry[2](*entry[3])
                    else:
                        network.deliver(entry)
                    ran += 1
            else:
                while queue and queue[0][0] <= limit:
                    entry = pop(queue)
                    self.now = entry[0]
                    if len(entry) == 4:
                        entry[2](*entry[3])
                    else:
                        network.deliver(entry)
                    ran += 1
                    if until is not None and until():
                        return True
                    if max_events is not None and ran >= max_events:
                        if budgeted:
                            raise StepBudgetExceeded(f"more than {self.event_budget:,} events")
                        return False
            if time_ms is not None and time_ms > self.now:
                self.now = time_ms
            return False
        except _Halted:
            return True
        finally:
            self.events_run += ran
            self._running = False
            if self._halting:       # the run ended some other way first: forget the halt
                self._halting = False
                queue[:] = [entry for entry in queue if entry[1] != -1]
                heapify(queue)

    def run_for(self, duration_ms, until=None):
        return self.run_until(self.now + duration_ms, until=until)

    def pending(self):
        return len(self._queue)


class Network:
    """Messages between nodes, with latency, loss and partitions.

    A node is anything with ``node_id``, ``alive`` and ``incarnation``. A message is a
    handler call on the destination. Messages between two nodes arrive in order (a link is
    a TCP connection), each after a random latency; a message is lost if a partition
    separates the two nodes when it arrives, if the destination crashed or restarted since
    it was sent (a restart breaks every connection), or if the link breaks at random
    (``drop_rate``, per message): TCP never loses one message and delivers the next, so a
    break loses every message already sent on the link, and later ones go on a new
    connection. (Kafka's idempotent producer relies on exactly that order.)
    """

    def __init__(self, sim, min_latency_ms=1, max_latency_ms=3, drop_rate=0.0):
        self.sim = sim
        self.min_latency_ms = min_latency_ms
        self.max_latency_ms = max_latency_ms
        self.drop_rate = drop_rate
        self._cut = set()         # (a, b) pairs that cannot talk, both directions stored
        self._last_arrival = {}   # (source, destination) -> when its last message arrives
        self._broken_through = {} # link -> the last message sequence a random break lost
        self.nodes = {}           # node id -> node, told when a link of theirs breaks
        self._slow = {}           # (source, destination) -> extra latency (ms), see slow_link
        self._corrupt = {}        # (source, destination) -> what garbles a message's arguments
        self.messages_sent = 0
        self.messages_lost = 0
        self._random = sim.rng.random
        sim.network = self

    def send(self, source, destination, handler, *args):
        self.messages_sent += 1
        sim = self.sim
        now = sim.now
        if self.max_latency_ms > self.min_latency_ms:
            spread = self.max_latency_ms - self.min_latency_ms + 1
            arrival = now + self.min_latency_ms + int(self._random() * spread)
        else:
            arrival = now + self.min_latency_ms
        # One link is one TCP connection: messages on it arrive in the order they were sent.
        link = (source.node_id, destination.node_id)
        if self._slow:
            arrival += self._slow.get(link, 0)
        last_arrival = self._last_arrival
        previous = last_arrival.get(link, 0)
        if arrival < previous:
            arrival = previous
        last_arrival[link] = arrival
        # An event with three more fields: the simulator's loop decides whether it arrives.
        sim._sequence = sequence = sim._sequence + 1
        _push(sim._queue, (arrival, sequence, handler, args, destination,
                           destination.incarnation, link))

    def deliver(self, message):
        """A message's time has come: ``handler(*args)``, unless it is lost."""
        _, sequence, handler, args, destination, incarnation, link = message
        if (not destination.alive or destination.incarnation != incarnation
                or (self._cut and link in self._cut)
                or sequence <= self._broken_through.get(link, 0)):
            self.messages_lost += 1
            return
        if self.drop_rate and self.sim.rng.random() < self.drop_rate:
            # the connection breaks: this message and every one sent on it before now
            self._broken_through[link] = self.sim._sequence
            self.messages_lost += 1
            for here, there in (link, link[::-1]):      # both ends see the reset
                node = self.nodes.get(here)
                if node is not None and hasattr(node, "connection_broken"):
                    node.connection_broken(there)
            return
        if self._corrupt and link in self._corrupt:
            args = self._corrupt[link](args, self.sim.rng)
        handler(*args)

    def break_link(self, a, b):
        """Break the connection between nodes ``a`` and ``b`` now, as a random break would:
        what is on its way either way is lost, and both ends are told."""
        for link in ((a, b), (b, a)):
            self._broken_through[link] = self.sim._sequence
        for here, there in ((a, b), (b, a)):
            node = self.nodes.get(here)
            if node is not None and hasattr(node, "connection_broken"):
                node.connection_broken(there)

    def slow_link(self, a, b, extra_ms):
        """Messages from ``a`` to ``b`` take ``extra_ms`` longer from now on (0: normal
        again): a congested route, a request stuck in a broker's queue. Order on the link
        still holds."""
        if extra_ms:
            self._slow[(a, b)] = extra_ms
        else:
            self._slow.pop((a, b), None)

    def corrupt_link(self, a, b, garble):
        """Messages between ``a`` and ``b``, either way, arrive as ``garble(args, rng)`` makes
        them, until ``heal``."""
        self._corrupt[(a, b)] = self._corrupt[(b, a)] = garble

    def register(self, node):
        """Let ``node`` hear of its connections breaking (``node.connection_broken(other)``)."""
        self.nodes[node.node_id] = node

    # -- faults ------------------------------------------------------------------
    def partition(self, side_a, side_b):
        """Cut every link between a node of ``side_a`` and a node of ``side_b``."""
        for a in side_a:
            for b in side_b:
                if a != b:
                    self._cut.add((a, b))
                    self._cut.add((b, a))

    def isolate(self, node_id, others):
        self.partition([node_id], [o for o in others if o != node_id])

    def heal(self):
        self._cut.clear()
        self._corrupt.clear()

    def can_talk(self, a, b):
        return (a, b) not in self._cut

    @property
    def cut_links(self):
        return sorted({tuple(sorted(pair, key=str)) for pair in self._cut}, key=str)
