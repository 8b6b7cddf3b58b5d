"""The reference engine: a deterministic, in-process simulation of a Kafka cluster.

Start with ``Cluster``; see the README for a tour.
"""

from . import errors
from .checker import check
from .cluster import Cluster
from .history import History
from .record import Record
from .seams import Seams

__all__ = ["Cluster", "Seams", "Record", "History", "check", "errors"]
