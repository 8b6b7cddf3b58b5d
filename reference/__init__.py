"""The reference engine: a deterministic, in-process simulation of a Kafka cluster.

Start with ``Cluster``; see the README for a tour.
"""

from . import errors
# checker import added when ready
from .cluster import Cluster

from .record import Record
from .seams import Seams

__all__ = ["Cluster", "Seams", "Record", "errors"]
