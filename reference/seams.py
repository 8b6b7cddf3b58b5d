"""The engine's seams: the rules a learner can replace with their own code.

The reference engine never calls a rule directly; it calls it through a ``Seams``
object, so ``Cluster(seams=Seams(next_high_watermark=my_rule))`` runs a whole
cluster on a learner's high-watermark rule. Each default is the engine's own rule:
there is no second copy of a solution anywhere.
"""

from dataclasses import dataclass, fields, replace
from typing import Callable

from . import (assignors, auth_helper, authorizer, cleaner, consumer, delivery, election, isr,
               log, monitoring, partitioner, producer_state, quota_manager, record_batch,
               replication, scram, transaction_coordinator)


@dataclass(frozen=True)
class Seams:
    # partitioning (partitioner.py)
    partition_for_key: Callable = partitioner.partition_for_key
    next_partition: Callable = partitioner.next_partition
    # the wire: record batch v2 (record_batch.py), in a cluster that ships bytes
    encode_record: Callable = record_batch.encode_record
    batch_checksum: Callable = record_batch.batch_checksum
    parse_attributes: Callable = record_batch.parse_attributes
    read_varint: Callable = record_batch.read_varint
    # the partition log (log.py)
    largest_lower_bound: Callable = log.largest_lower_bound
    should_roll: Callable = log.should_roll
    fetch_upper_bound: Callable = log.fetch_upper_bound
    deletable_segments: Callable = log.deletable_segments
    # the idempotent producer (producer_state.py)
    increment_sequence: Callable = producer_state.increment_sequence
    check_append: Callable = producer_state.check_append
    # transactions (producer_state.py, transaction_coordinator.py, consumer.py)
    last_stable_offset: Callable = producer_state.last_stable_offset
    transition_allowed: Callable = transaction_coordinator.transition_allowed
    transaction_partition: Callable = transaction_coordinator.transaction_partition
    read_committed_batches: Callable = consumer.read_committed_batches
    # security (authorizer.py, auth_helper.py, scram.py)
    authorize: Callable = authorizer.authorize
    required_acls: Callable = auth_helper.required_acls
    scram_credential: Callable = scram.scram_credential
    verify_client_proof: Callable = scram.verify_client_proof
    # quotas (quota_manager.py)
    quota_metric_tags: Callable = quota_manager.quota_metric_tags
    quota_limit: Callable = quota_manager.quota_limit
    throttle_time_ms: Callable = quota_manager.throttle_time_ms
    # compaction (cleaner.py)
    dirty_ratio: Callable = cleaner.dirty_ratio
    should_clean: Callable = cleaner.should_clean
    first_uncleanable_offset: Callable = cleaner.first_uncleanable_offset
    build_offset_map: Callable = cleaner.build_offset_map
    should_retain_record: Callable = cleaner.should_retain_record
    # replication (replication.py)
    next_high_watermark: Callable = replication.next_high_watermark
    end_offset_for_epoch: Callable = replication.end_offset_for_epoch
    truncation_offset: Callable = replication.truncation_offset
    # in-sync replicas (isr.py)
    last_caught_up_time: Callable = isr.last_caught_up_time
    is_caught_up: Callable = isr.is_caught_up
    can_join_isr: Callable = isr.can_join_isr
    acks_all_accepted: Callable = isr.acks_all_accepted
    # the controller (election.py)
    elect_leader: Callable = election.elect_leader
    # consumer groups (assignors.py)
    range_assign: Callable = assignors.range_assign
    round_robin_assign: Callable = assignors.round_robin_assign
    sticky_assign: Callable = assignors.sticky_assign
    partitions_to_revoke: Callable = assignors.partitions_to_revoke
    # consumers: delivery semantics (delivery.py) and lag (monitoring.py)
    plan_batch: Callable = delivery.plan_batch
    partition_lag: Callable = monitoring.partition_lag

    def with_rules(self, **rules):
        """A copy with some rules replaced; unknown names are an error."""
        known = {f.name for f in fields(self)}
        unknown = set(rules) - known
        if unknown:
            raise TypeError(f"no seam named {sorted(unknown)}; seams are {sorted(known)}")
        return replace(self, **rules)


REFERENCE = Seams()
