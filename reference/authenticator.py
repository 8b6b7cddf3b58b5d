"""Authentication on the wire: SASL/SCRAM between a client and each broker it talks to
(Kafka's ``SaslClientAuthenticator`` and ``SaslServerAuthenticator``).

A listener configured ``SASL_PLAINTEXT://`` (broker config ``listeners``) accepts a
connection only after a SASL exchange: the client names its mechanism, sends its
client-first message, answers the broker's challenge with its proof, and checks the broker's
signature (``scram.py``). From then on every request on that connection is the
authenticated user's, ``User:<name>``: that principal is what the authorizer judges. On a
PLAINTEXT listener every client is ``User:ANONYMOUS``.

A client authenticates with each broker before its first request there, again after the
broker restarts or the connection breaks, and holds its requests until it has. A failure is
final for that client: SASL_AUTHENTICATION_FAILED, which its next ``send()`` or ``poll()``
raises.

Simplifications, said plainly: a client on a SASL listener that skips authentication (the
engine's clients never do) is treated as a principal no ACL names, rather than
disconnected; the mechanism is chosen in the first message (Kafka sends a SaslHandshake
request before it); SASL_SSL and the other mechanisms (GSSAPI, PLAIN, OAUTHBEARER) are not
modelled.
"""

import re

from . import errors
from .scram import MECHANISMS, ScramClient, ScramServer

ANONYMOUS = "User:ANONYMOUS"
JAAS = re.compile(r'^\s*org\.apache\.kafka\.common\.security\.scram\.ScramLoginModule\s+'
                  r'required\s+username="(?P<username>[^"]*)"\s+'
                  r'password="(?P<password>[^"]*)"\s*;\s*$')


def sasl_required(broker_config):
    """Whether the broker's listener is ``SASL_PLAINTEXT://...``."""
    return broker_config["listeners"].split("://")[0] == "SASL_PLAINTEXT"


def login(config):
    """``(mechanism, username, password)`` from a client's ``sasl.mechanism`` and
    ``sasl.jaas.config`` (ScramLoginModule's syntax), or None for ``security.protocol``
    PLAINTEXT; InvalidConfigurationError for anything else."""
    protocol = config["security.protocol"]
    if protocol == "PLAINTEXT":
        return None
    if protocol != "SASL_PLAINTEXT":
        raise errors.InvalidConfigurationError(
            f"security.protocol must be PLAINTEXT or SASL_PLAINTEXT, got {protocol!r}")
    mechanism = config["sasl.mechanism"]
    if mechanism not in MECHANISMS:
        raise errors.InvalidConfigurationError(
            f"sasl.mechanism {mechanism!r} is not supported here: use one of "
            f"{sorted(MECHANISMS)}")
    match = JAAS.match(config["sasl.jaas.config"] or "")
    if match is None:
        raise errors.InvalidConfigurationError(
            'sasl.jaas.config must read: org.apache.kafka.common.security.scram.'
            'ScramLoginModule required username="..." password="...";')
    return mechanism, match["username"], match["password"]


class SaslClientAuthenticator:
    """Stands between a client and the network: a request to a broker it has not
    authenticated with (this incarnation, this connection) waits while the SCRAM exchange
    runs, then goes. The client's ``net``."""

    def __init__(self, client, network, mechanism, username, password):
        self.client = client
        self.network = network
        self.mechanism, self.username, self.password = mechanism, username, password
        self.sessions = {}          # broker id -> (incarnation, link break mark) authenticated
        self.waiting = {}           # broker id -> [(destination, handler, args)]
        self.exchanges = {}         # broker id -> (incarnation, ScramClient) in progress
        self.failure = None         # SaslAuthenticationFailedError, once it happened

    def __getattr__(self, name):    # everything else is the network's
        return getattr(self.network, name)

    def _mark(self, broker):
        return (broker.incarnation,
                self.network._broken_through.get((self.client.node_id, broker.node_id), 0))

    def send(self, source, destination, handler, *args):
        if not hasattr(destination, "handle_sasl_authenticate"):
            self.network.send(source, destination, handler, *args)
            return
        if self.failure is not None:
            return                  # this client is done: nothing goes out any more
        key = destination.node_id
        if self.sessions.get(key) == self._mark(destination):
            self.network.send(source, destination, handler, *args)
            return
        self.waiting.setdefault(key, []).append((destination, handler, args))
        exchange = self.exchanges.get(key)
        if exchange is None or exchange[0] != destination.incarnation:
            self.start(destination)

    def start(self, broker):
        nonce = "%032x" % self.client.sim.rng.getrandbits(128)
        scram = ScramClient(self.mechanism, self.username, self.password, nonce)
        self.exchanges[broker.node_id] = (broker.incarnation, scram)
        self.network.send(self.client, broker, broker.handle_sasl_authenticate, self.client,
                          self.mechanism, scram.first(),
                          lambda answer: self.on_server_first(broker, scram, answer))

    def on_server_first(self, broker, scram, answer):
        error, message = answer
        if self.exchanges.get(broker.node_id, (None, None))[1] is not scram:
            return
        if error is not None:
            self.failed(error)
            return
        try:
            final = scram.final(message)
        except errors.SaslAuthenticationFailedError as failure:
            self.failed(failure)
            return
        self.network.send(self.client, broker, broker.handle_sasl_authenticate, self.client,
                          self.mechanism, final,
                          lambda answer: self.on_server_final(broker, scram, answer))

    def on_server_final(self, broker, scram, answer):
        error, message = answer
        if self.exchanges.get(broker.node_id, (None, None))[1] is not scram:
            return
        if error is not None:
            self.failed(error)
            return
        try:
            scram.verify(message)
        except errors.SaslAuthenticationFailedError as failure:
            self.failed(failure)
            return
        del self.exchanges[broker.node_id]
        self.sessions[broker.node_id] = self._mark(broker)
        for destination, handler, args in self.waiting.pop(broker.node_id, []):
            self.network.send(self.client, destination, handler, *args)

    def failed(self, error):
        self.failure = error
        self.waiting.clear()
        self.exchanges.clear()
        self.client.authentication_failed(error)


class SaslServerAuthenticator:
    """A broker's side: one SCRAM exchange per connecting client, and the principal of each
    client that completed one. Lives in the broker's memory: a restart forgets it."""

    def __init__(self, broker):
        self.broker = broker
        self.exchanges = {}         # client id -> ScramServer
        self.principals = {}        # client id -> "User:<name>"

    def handle(self, requester, mechanism, message, respond):
        """One SASL message from ``requester``: answered ``(None, reply)`` or ``(error,
        None)``."""
        broker = self.broker
        enabled = [m.strip() for m in broker.config["sasl.enabled.mechanisms"].split(",")]
        key = requester.node_id
        if mechanism not in enabled or mechanism not in MECHANISMS:
            broker.reply(requester, respond, (errors.UnsupportedSaslMechanismError(
                f"{mechanism!r} is not enabled: sasl.enabled.mechanisms={','.join(enabled)}"),
                None))
            return
        server = self.exchanges.get(key)
        if server is None or message.startswith("n,"):
            self.principals.pop(key, None)
            server = self.exchanges[key] = ScramServer(
                mechanism, lambda user: broker.cluster.scram_credentials.get((user, mechanism)),
                lambda: "%032x" % broker.sim.rng.getrandbits(128),
                verify=broker.seams.verify_client_proof)
        try:
            reply = server.respond(message)
        except errors.SaslAuthenticationFailedError as error:
            del self.exchanges[key]
            broker.reply(requester, respond, (error, None))
            return
        if server.state == "complete":
            del self.exchanges[key]
            self.principals[key] = f"User:{server.username}"
        broker.reply(requester, respond, (None, reply))

    def principal_of(self, requester):
        """Who ``requester`` is on this broker: its authenticated user, ``User:ANONYMOUS`` on
        a PLAINTEXT listener, or None (a SASL listener, no exchange completed)."""
        if not sasl_required(self.broker.config):
            return ANONYMOUS
        return self.principals.get(requester.node_id)
