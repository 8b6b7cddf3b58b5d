"""Sockets for the simulated brokers, and the simulation in step with the wall clock
(Kafka's ``SocketServer``: its acceptors and processors).

    from kafkadojo.reference import Cluster
    from kafkadojo.reference.network_server import Server

    cluster = Cluster(brokers=3, config={"min.insync.replicas": 2})
    cluster.create_topic("orders", partitions=3, replication_factor=3)
    server = Server(cluster, port=9092).start()    # 127.0.0.1:9092, :9093, :9094
    print(server.bootstrap_servers)                # what real clients are given
    server.crash(server.leader("orders", 0))       # faults, from any thread
    print(server.status())                         # leaders and ISRs, now
    server.call(cluster.describe_group, "my-group")   # anything else: on the serving thread
    server.stop()

Each broker listens on its own port (``port + broker id``; ``port=0``: any free ports).
One thread, the *serving thread*, owns everything: the sockets (one ``selectors`` loop)
and the simulator. Each turn of its loop it

1. accepts connections and reads what arrived;
2. runs the commands other threads queued (``crash``, ``isolate``, ... are thread-safe
   because they only ever run here, between simulator events);
3. advances the simulator to the wall clock: simulated milliseconds pass as real ones
   do, so timeouts, heartbeats and elections happen when a real client expects them;
4. writes the answers the engine produced, and starts each idle connection's next request.

A connection is served one request at a time, as Kafka's processors do: once a request
is read the channel is muted (nothing more is read from it) until its response is sent,
so responses leave in the order their requests came.

A broker the engine considers crashed has no listener: its connections are closed and new
ones refused, so clients fail over as they would from a real broker's death. Restarted,
it listens again on the same port. An isolated broker keeps its connections, but the
simulated network drops every request and answer on them: clients see silence, then
their request timeouts, as in a real partition.

Determinism is given up here (the wall clock decides when things happen), not the
engine's rules: each answer still comes from its handlers.
"""

import logging
import queue
import selectors
import socket
import threading
import time
from concurrent.futures import Future

from . import errors
from .protocol_server import (API_VERSIONS, DEFAULT_MAX_REQUEST_BYTES, INTERNAL_TOPICS,
                              ClientNode, InvalidRequest, KafkaApis, encode_response,
                              parse_request, take_frame, unsupported_api_versions_response)

log = logging.getLogger("kafkadojo.serve")

TICK_SECONDS = 0.005        # the longest the loop sleeps: the simulator's time resolution
RECEIVE_BYTES = 65_536
COMMAND_TIMEOUT_SECONDS = 60


class Connection:
    """One client's TCP connection to one broker's listener (Kafka's ``KafkaChannel``):
    bytes in, one request at a time to KafkaApis, responses out in order."""

    def __init__(self, server, sock, address, broker_id, incarnation):
        self.server = server
        self.sock = sock
        self.address = address
        self.broker_id = broker_id
        self.incarnation = incarnation      # the broker process it was accepted by
        self.node = None                    # its ClientNode, made at its first request
        self.received = bytearray()
        self.outgoing = bytearray()
        self.in_flight = None               # the request being answered: the channel is muted
        self.close_after_send = False
        self.closed = False
        self.events = 0                     # what the selector watches for
        self.sasl_mechanism = None          # chosen by SaslHandshake

    def send_response(self, request, response, close_after=False):
        """Queue the response to the request in flight; the serving thread writes it."""
        if self.closed or request is not self.in_flight:
            return
        try:
            data = encode_response(request.correlation_id, response)
        except Exception:       # noqa: BLE001 - a response kio cannot write
            log.exception("encoding the response to API key %d v%d failed",
                          request.api_key, request.api_version)
            self.close("its response could not be encoded")
            return
        self.outgoing += data
        self.close_after_send = self.close_after_send or close_after
        self.in_flight = None
        self.server.ready(self)

    def no_response(self, request):
        """acks=0: no response, and the next request may be read."""
        if not self.closed and request is self.in_flight:
            self.in_flight = None
            self.server.ready(self)

    def close(self, reason=None):
        self.server.close_connection(self, reason)

    def __repr__(self):
        who = self.node.node_id if self.node else f"{self.address[0]}:{self.address[1]}"
        return f"Connection({who} -> broker {self.broker_id})"


class Listener:
    """One broker's listening socket (Kafka's ``Acceptor``); None while the broker is down."""

    def __init__(self, broker_id, host, port):
        self.broker_id = broker_id
        self.host = host
        self.port = port
        self.sock = None


class Server:
    """Real Kafka clients against a simulated ``cluster``: see the module docstring.

    ``max_request_bytes`` is ``socket.request.max.bytes``; ``auto_create_topics`` is
    ``auto.create.topics.enable``. Once started, the cluster belongs to the serving thread:
    touch it only through ``call(fn)`` (or the fault methods), which run there."""

    def __init__(self, cluster, host="127.0.0.1", port=9092,
                 max_request_bytes=DEFAULT_MAX_REQUEST_BYTES, auto_create_topics=True):
        if cluster.broker_config["transaction.version"] >= 2:
            raise errors.InvalidConfigurationError(
                "kafkadojo serve speaks transaction.version 1: EndTxn v5 (KIP-890 part 2) "
                "is not served")
        self.cluster = cluster
        self.host = host
        self.max_request_bytes = max_request_bytes
        self.listeners = {b.node_id: Listener(b.node_id, host, port + b.node_id if port else 0)
                          for b in cluster.brokers}
        self.endpoints = {}                 # broker id -> (host, port): what Metadata says
        self.apis = KafkaApis(cluster, self.endpoints, auto_create_topics)
        self.connections = set()
        self._by_socket = {}                # socket -> Connection, for the selector
        self._ready = set()                 # connections with output, or a request to start
        self._selector = None
        self._commands = queue.SimpleQueue()
        self._thread = None
        self._stopping = False
        self._wake_r = self._wake_w = None
        self._clock = (0, 0.0)              # (simulated ms, wall-clock s) at the last rebase
        self._node_count = 0
        self.isolated = set()               # brokers cut off from every client
        self.slowed = {}                    # (a, b) -> extra ms, as slow() set them
        self.slowed_clients = {}            # broker id -> extra ms on every client link

    # -- starting and stopping -------------------------------------------------------------
    def start(self):
        """Bind every live broker's listener (so the ports are known when this returns),
        then serve in a daemon thread. Returns the server."""
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wakeups)
        try:
            for broker in self.cluster.brokers:
                listener = self.listeners[broker.node_id]
                self.open_listener(listener)
                if not broker.alive:
                    self.close_listener(listener)
        except OSError:
            self._shut_down()       # a port is taken: let go of the others
            raise
        self._rebase_clock()
        self._thread = threading.Thread(target=self._serve, name="kafkadojo-serve", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is None:
            return
        self._stopping = True
        self._wake()
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self):
        return self.start() if self._thread is None else self

    def __exit__(self, *exc):
        self.stop()

    @property
    def bootstrap_servers(self):
        """``host:port,host:port,...``: every broker's listener, what clients are given."""
        return ",".join(f"{host}:{port}" for _, (host, port) in sorted(self.endpoints.items()))

    # -- the serving thread --------------------------------------------------------------------
    def _serve(self):
        try:
            while not self._stopping:
                timeout = 0 if self._ready else TICK_SECONDS
                for key, mask in self._selector.select(timeout):
                    key.data(key.fileobj, mask)
                self._run_commands()
                self._advance_simulation()
                self._follow_brokers()
                self._pump()
        except Exception:       # noqa: BLE001 - say why serving stopped
            log.exception("the serving thread failed")
        finally:
            self._shut_down()

    def _advance_simulation(self):
        """Run the simulator up to the simulated time the wall clock has reached."""
        sim = self.cluster.sim
        sim_base, wall_base = self._clock
        target = sim_base + int((time.monotonic() - wall_base) * 1000)
        if target <= sim.now:
            return
        try:
            sim.run_until(target)
        except Exception:       # noqa: BLE001 - one bad event must not end the serving
            log.exception("a simulator event failed at %d ms", sim.now)

    def _rebase_clock(self):
        """From now on, simulated time goes on from ``sim.now`` at the wall clock's pace
        (after a command that ran the simulator ahead, such as creating a topic)."""
        self._clock = (self.cluster.sim.now, time.monotonic())

    def _pump(self):
        """Write what is waiting, and start the next request of each idle connection."""
        while self._ready:
            ready, self._ready = self._ready, set()
            for connection in ready:
                if connection.closed:
                    continue
                self._flush(connection)
                self._next_request(connection)
                self._watch(connection)

    def _shut_down(self):
        for connection in list(self.connections):
            self.close_connection(connection, None)
        for listener in self.listeners.values():
            self.close_listener(listener)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- listeners and connections ---------------------------------------------------------
    def open_listener(self, listener):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((listener.host, listener.port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        listener.port = sock.getsockname()[1]      # port 0: the one the OS gave
        listener.sock = sock
        self.endpoints[listener.broker_id] = (listener.host, listener.port)
        self._selector.register(sock, selectors.EVENT_READ,
                                lambda s, mask, listener=listener: self._accept(listener))

    def close_listener(self, listener):
        if listener.sock is not None:
            self._selector.unregister(listener.sock)
            listener.sock.close()
            listener.sock = None

    def _accept(self, listener):
        broker = self.cluster.brokers[listener.broker_id]
        try:
            sock, address = listener.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = Connection(self, sock, address, listener.broker_id, broker.incarnation)
        self.connections.add(connection)
        self._watch(connection)

    def _on_socket(self, sock, mask):
        connection = self._by_socket.get(sock)
        if connection is None:
            return
        if mask & selectors.EVENT_WRITE:
            self._flush(connection)
        if mask & selectors.EVENT_READ and not connection.closed:
            self._receive(connection)
        if not connection.closed:
            self._watch(connection)

    def _receive(self, connection):
        try:
            data = connection.sock.recv(RECEIVE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self.close_connection(connection, f"receive failed: {error}")
            return
        if not data:
            self.close_connection(connection, None)     # the client closed it
            return
        connection.received += data
        self._next_request(connection)

    def _next_request(self, connection):
        """If the connection is idle and a whole request has arrived, hand it to KafkaApis
        (the channel is muted until it is answered)."""
        while not connection.closed and connection.in_flight is None:
            try:
                frame = take_frame(connection.received, self.max_request_bytes)
                if frame is None:
                    return
                request = parse_request(frame)
            except InvalidRequest as error:
                self.close_connection(connection, str(error))
                return
            if connection.node is None:
                connection.node = self._new_node(connection, request.client_id)
            connection.in_flight = request
            if request.api_key == API_VERSIONS and request.body is None:
                connection.outgoing += unsupported_api_versions_response(request.correlation_id)
                connection.in_flight = None
                self.ready(connection)
                continue
            try:
                self.apis.handle(request, connection)
            except Exception:       # noqa: BLE001 - contain one client's failure
                log.exception("handling API key %d v%d from %s failed", request.api_key,
                              request.api_version, connection)
                self.close_connection(connection, "handling its request failed")

    def _flush(self, connection):
        if connection.closed or not connection.outgoing:
            return
        try:
            sent = connection.sock.send(connection.outgoing)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self.close_connection(connection, f"send failed: {error}")
            return
        del connection.outgoing[:sent]
        if not connection.outgoing and connection.close_after_send:
            self.close_connection(connection, "closed after its response, as Kafka does")

    def _watch(self, connection):
        """Read only while no request is in flight (the channel is muted otherwise); write
        while there is output."""
        if connection.closed:
            return
        events = 0
        if connection.in_flight is None and not connection.close_after_send:
            events |= selectors.EVENT_READ
        if connection.outgoing:
            events |= selectors.EVENT_WRITE
        if events == connection.events:
            return
        if connection.events == 0:
            self._selector.register(connection.sock, events, self._on_socket)
            self._by_socket[connection.sock] = connection
        elif events == 0:
            self._selector.unregister(connection.sock)
        else:
            self._selector.modify(connection.sock, events, self._on_socket)
        connection.events = events

    def ready(self, connection):
        self._ready.add(connection)

    def close_connection(self, connection, reason):
        if connection.closed:
            return
        connection.closed = True
        if reason:
            log.info("closing %s: %s", connection, reason)
        if connection.events:
            self._selector.unregister(connection.sock)
            connection.events = 0
        self._by_socket.pop(connection.sock, None)
        try:
            connection.sock.close()
        except OSError:
            pass
        if connection.node is not None:
            connection.node.alive = False       # answers on their way are dropped
            self.cluster.network.nodes.pop(connection.node.node_id, None)
        self.connections.discard(connection)
        self._ready.discard(connection)

    def _new_node(self, connection, client_id):
        """The simulated client standing for this connection, cut off or slowed as the
        faults in force say."""
        self._node_count += 1
        node = ClientNode(f"{client_id or 'client'}#{self._node_count}", connection.address[0],
                          on_link_broken=lambda other: self.close_connection(
                              connection, "the simulated network broke its link"))
        network = self.cluster.network
        network.register(node)
        if self.isolated:
            network.partition([node.node_id], sorted(self.isolated))
        for broker_id, extra_ms in self.slowed_clients.items():
            network.slow_link(node.node_id, broker_id, extra_ms)
            network.slow_link(broker_id, node.node_id, extra_ms)
        return node

    def _follow_brokers(self):
        """A crashed broker stops listening and drops its connections; a restarted one
        listens again. A connection accepted by an earlier incarnation is closed too."""
        for broker in self.cluster.brokers:
            listener = self.listeners[broker.node_id]
            if not broker.alive and listener.sock is not None:
                self.close_listener(listener)
            elif broker.alive and listener.sock is None:
                try:
                    self.open_listener(listener)
                except OSError as error:
                    log.warning("broker %d cannot listen on port %d yet: %s",
                                broker.node_id, listener.port, error)
        brokers = self.cluster.brokers
        for connection in list(self.connections):
            broker = brokers[connection.broker_id]
            if not broker.alive or broker.incarnation != connection.incarnation:
                self.close_connection(connection, f"broker {broker.node_id} crashed")

    # -- commands from other threads ------------------------------------------------------
    def call(self, fn, *args):
        """Run ``fn(*args)`` on the serving thread, between simulator events, and return
        its result (its exception is raised here). Called on the serving thread, or before
        ``start()``, it runs at once."""
        if self._thread is None or threading.current_thread() is self._thread:
            return fn(*args)
        future = Future()
        self._commands.put((future, fn, args))
        self._wake()
        return future.result(timeout=COMMAND_TIMEOUT_SECONDS)

    def _run_commands(self):
        ran = False
        while True:
            try:
                future, fn, args = self._commands.get_nowait()
            except queue.Empty:
                break
            ran = True
            try:
                result = fn(*args)
                # a crashed broker's port is closed before its caller hears it crashed
                self._follow_brokers()
            except BaseException as error:      # noqa: BLE001 - raised in the caller
                future.set_exception(error)
            else:
                future.set_result(result)
        if ran and self.cluster.sim.now > self._target_now():
            self._rebase_clock()

    def _target_now(self):
        sim_base, wall_base = self._clock
        return sim_base + int((time.monotonic() - wall_base) * 1000)

    def _wake(self):
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def _drain_wakeups(self, sock, mask):
        try:
            sock.recv(4096)
        except OSError:
            pass

    # -- faults -------------------------------------------------------------------------------
    def crash(self, broker_id, lose_unflushed=False):
        """Kill a broker: its listener closes, its connections break."""
        def crash():
            self.cluster.crash(broker_id, lose_unflushed)
            return f"broker {broker_id} crashed: connections closed, port refused"
        return self.call(crash)

    def restart(self, broker_id):
        def restart():
            self.cluster.restart(broker_id)
            return f"broker {broker_id} restarted: listening on {self.listeners[broker_id].port}"
        return self.call(restart)

    def isolate(self, broker_id):
        """Cut one broker off from every other node: brokers, controller and clients."""
        def isolate():
            self.cluster.broker(broker_id)          # an unknown id is an error
            self.cluster.isolate(broker_id)
            self.isolated.add(broker_id)
            self.cluster.network.partition([broker_id], self._client_node_ids())
            return f"broker {broker_id} isolated: requests to it go unanswered"
        return self.call(isolate)

    def partition(self, side_a, side_b):
        """Cut the network between two groups of brokers (ids, or "controller"); clients
        still reach both sides."""
        def partition():
            self.cluster.partition_network(list(side_a), list(side_b))
            return f"network partitioned: {list(side_a)} | {list(side_b)}"
        return self.call(partition)

    def slow(self, a, b, extra_ms):
        """Messages between ``a`` and ``b`` take ``extra_ms`` longer, both ways (0: normal
        again). ``a`` and ``b`` are broker ids or "controller"; "clients" stands for every
        client connection, present and future."""
        def slow():
            for node in (a, b):
                if node not in ("controller", "clients"):
                    self.cluster.broker(node)           # an unknown id is an error
            if "clients" in (a, b):
                other = b if a == "clients" else a
                if extra_ms:
                    self.slowed_clients[other] = extra_ms
                else:
                    self.slowed_clients.pop(other, None)
                links = [(node, other) for node in self._client_node_ids()]
            else:
                links = [(a, b)]
            for x, y in links:
                for link in ((x, y), (y, x)):
                    self.cluster.network.slow_link(*link, extra_ms)
                    if extra_ms:
                        self.slowed[link] = extra_ms
                    else:
                        self.slowed.pop(link, None)
            return f"link {a} <-> {b}: +{extra_ms} ms"
        return self.call(slow)

    def heal(self):
        """Every partition and slow link gone."""
        def heal():
            self.cluster.heal()
            for x, y in list(self.slowed):
                self.cluster.network.slow_link(x, y, 0)
            self.slowed.clear()
            self.slowed_clients.clear()
            self.isolated.clear()
            return "network healed"
        return self.call(heal)

    def create_topic(self, name, partitions=None, replication_factor=None, config=None):
        return self.call(self.cluster.create_topic, name, partitions, replication_factor, config)

    def leader(self, topic, partition):
        return self.call(self.cluster.leader, topic, partition)

    def status(self, internal=False):
        """Brokers, faults, and each partition's leader and ISR, as text."""
        return self.call(self._status, internal)

    def events_since(self, count):
        """The controller's decisions and the faults after the first ``count``."""
        return self.call(lambda: self.cluster.events[count:])

    def request_counts(self):
        """Requests handled so far, by API and version ("Fetch v12": Kafka's RequestsPerSec,
        as totals)."""
        return self.call(lambda: dict(self.apis.requests))

    def _client_node_ids(self):
        return [c.node.node_id for c in self.connections if c.node is not None]

    def _status(self, internal):
        cluster = self.cluster
        brokers = ", ".join(
            f"{b.node_id} {'up' if b.alive else 'DOWN'}"
            + (f" ({self.endpoints[b.node_id][0]}:{self.endpoints[b.node_id][1]})"
               if b.alive and b.node_id in self.endpoints else "")
            for b in cluster.brokers)
        lines = [f"t={cluster.now / 1000:.1f} s  brokers: {brokers}  "
                 f"clients: {len(self.connections)} connection(s)"]
        faults = []
        if self.isolated:
            faults.append("isolated: " + ", ".join(map(str, sorted(self.isolated))))
        cut = [(x, y) for x, y in cluster.network.cut_links
               if not (_is_client(x) or _is_client(y))]
        if cut:
            faults.append("cut: " + ", ".join(f"{x}|{y}" for x, y in cut))
        slow = sorted({(*sorted((str(x), str(y))), ms) for (x, y), ms in self.slowed.items()
                       if not (_is_client(x) or _is_client(y))})
        slow += [("clients", str(b), ms) for b, ms in sorted(self.slowed_clients.items())]
        if slow:
            faults.append("slow: " + ", ".join(f"{x}<->{y} +{ms} ms" for x, y, ms in slow))
        if faults:
            lines.append("network: " + "; ".join(faults))
        for topic, partition in cluster.partitions():
            if topic in INTERNAL_TOPICS and not internal:
                continue
            reg = cluster.registration(topic, partition)
            leader = reg.leader if reg.leader >= 0 else "none (offline)"
            lines.append(f"{topic}-{partition}: leader {leader}, epoch {reg.leader_epoch}, "
                         f"ISR {list(reg.isr)}, replicas {list(reg.replicas)}")
        return "\n".join(lines)


def _is_client(node_id):
    """Brokers are numbered and the controller is "controller"; clients are named."""
    return not isinstance(node_id, int) and node_id != "controller"
