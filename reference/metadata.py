"""Cluster metadata: what the controller decides and every broker learns.

In KRaft the controller writes each decision as a record to the ``__cluster_metadata``
log, and brokers replicate that log and apply it to an in-memory *image*. Clients ask
any broker for metadata and get that broker's image, which may be a little behind.
"""

from typing import NamedTuple


class PartitionRegistration(NamedTuple):
    """Kafka's ``PartitionRegistration``: one partition's replicas, ISR and leader.

    While a reassignment (KIP-455) runs, ``replicas`` is the target followed by the
    replicas being removed, and ``adding_replicas``/``removing_replicas`` say which are
    which; both are empty otherwise."""
    replicas: tuple
    isr: tuple
    leader: int             # broker id, or -1 while the partition is offline
    leader_epoch: int       # bumped on every leader change, and when a replica is removed
    partition_epoch: int    # bumped on every change at all (leader, ISR or replicas)
    adding_replicas: tuple = ()
    removing_replicas: tuple = ()


class TopicRecord(NamedTuple):
    name: str
    num_partitions: int
    configs: dict


class PartitionRecord(NamedTuple):
    topic: str
    partition: int
    registration: PartitionRegistration


class BrokerRecord(NamedTuple):
    broker_id: int
    fenced: bool


class MetadataImage:
    """A broker's view of the cluster, built by applying metadata records in order."""

    def __init__(self):
        self.offset = 0                 # how many metadata records have been applied
        self.topics = {}                # name -> TopicRecord
        self.partitions = {}            # (topic, partition) -> PartitionRegistration
        self.fenced = set()             # broker ids the controller has fenced
        self.brokers = set()            # broker ids ever registered

    def apply(self, record):
        if isinstance(record, PartitionRecord):
            self.partitions[(record.topic, record.partition)] = record.registration
        elif isinstance(record, TopicRecord):
            self.topics[record.name] = record
        elif isinstance(record, BrokerRecord):
            self.brokers.add(record.broker_id)
            if record.fenced:
                self.fenced.add(record.broker_id)
            else:
                self.fenced.discard(record.broker_id)
        self.offset += 1
