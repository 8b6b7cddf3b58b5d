"""What producers and consumers share: a place on the network and a metadata cache.

Kafka's clients keep cluster metadata (which broker leads which partition, at which leader
epoch) in ``org.apache.kafka.clients.Metadata``. They fetch it from any broker, refresh it
when a request fails with a stale-leader error, back refreshes off by
``retry.backoff.ms``, and (KIP-320) never accept a partition's metadata with an older
leader epoch than one they have already seen.
"""

from .authenticator import SaslClientAuthenticator, login


def newest_registrations(known, fresh):
    """Per partition, the registration with the highest leader epoch seen so far, so that
    an answer from a broker with stale metadata cannot send a client back to a deposed
    leader."""
    if known is None or len(known) != len(fresh):
        return list(fresh)
    return [old if old is not None and (new is None or old.leader_epoch > new.leader_epoch)
            else new for old, new in zip(known, fresh)]


class Client:
    """A node on the simulated network with a metadata cache. Subclasses say which topics
    they need (``metadata_topics``) and react to new metadata (``metadata_updated``).
    With ``security.protocol=SASL_PLAINTEXT`` it authenticates with each broker first
    (authenticator.py); ``host`` is its address, as ACLs name hosts."""

    def __init__(self, cluster, client_id, config):
        self.cluster = cluster
        self.sim = cluster.sim
        self.net = cluster.network
        credentials = login(config)
        if credentials is not None:
            self.net = SaslClientAuthenticator(self, cluster.network, *credentials)
        self.authentication_error = None    # SASL_AUTHENTICATION_FAILED, once it happened
        self.host = f"10.0.0.{len(cluster.clients) + 1}"
        self.node_id = client_id
        self.alive = True
        self.incarnation = 0
        self.config = config
        self.metadata = {}                  # topic -> [PartitionRegistration], newest epochs
        self.metadata_in_flight = False
        self.metadata_refresh_scheduled = False
        self.metadata_sent_ms = 0
        self.last_metadata_ms = -1

    def authentication_failed(self, error):
        """The SASL exchange failed: every later send or poll raises ``error``."""
        self.authentication_error = error

    def metadata_topics(self):
        """The topics to ask about (None: all of them)."""
        return None

    def metadata_updated(self, topics):
        """Called with the broker's answer ``{topic: registrations or None}``."""

    def request_metadata(self):
        """Ask a live broker for metadata, at most once per ``retry.backoff.ms``."""
        if self.metadata_in_flight or self.metadata_refresh_scheduled:
            return
        wait = self.last_metadata_ms + self.config["retry.backoff.ms"] - self.sim.now
        if self.last_metadata_ms >= 0 and wait > 0:
            self.metadata_refresh_scheduled = True
            self.sim.schedule(wait, self.refresh_metadata_later)
            return
        brokers = self.cluster.brokers
        # A client learns at once that a dead broker refuses connections.
        candidates = [b for b in brokers if b.alive] or brokers
        broker = candidates[self.sim.rng.randrange(len(candidates))]
        self.metadata_in_flight = True
        self.metadata_sent_ms = self.sim.now
        self.net.send(self, broker, broker.handle_metadata, self, self.metadata_topics(),
                      self.on_metadata)

    def refresh_metadata_later(self):
        self.metadata_refresh_scheduled = False
        self.request_metadata()

    def on_metadata(self, response):
        self.metadata_in_flight = False
        self.last_metadata_ms = self.sim.now
        _live_brokers, topics = response
        for topic, registrations in topics.items():
            if type(registrations) is list:     # not None (no such topic), not an error
                self.metadata[topic] = newest_registrations(self.metadata.get(topic), registrations)
        self.metadata_updated(topics)

    def expire_metadata_request(self, now, timeout_ms):
        """A metadata request lost on the network is given up after ``timeout_ms``."""
        if self.metadata_in_flight and now - self.metadata_sent_ms >= timeout_ms:
            self.metadata_in_flight = False
            return True
        return False
