"""kafkadojo: learn Apache Kafka's internals by building them.

- ``kafkadojo.reference``: the reference engine, a deterministic simulation of a Kafka cluster.
- ``kafkadojo.exercises``: the pieces a learner implements, as seams of that engine.
- ``kafkadojo.autograder``: hidden property tests and the grading harness.
"""

__version__ = "0.1.0"
