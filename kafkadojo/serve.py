"""``kafkadojo serve``: the simulated cluster on real ports, for real Kafka clients.

    kafkadojo serve --brokers 3 --port 9092 --topic orders:3:3 --config min.insync.replicas=2

prints the bootstrap address, then reads fault commands on stdin while clients run:

    crash 1             kill broker 1: its port refuses connections
    restart 1           bring it back (same port)
    isolate 2           cut broker 2 off from everyone (requests to it go unanswered)
    partition 0,1 2     cut the network between two groups of brokers ("controller" too)
    slow 1 2 300        300 ms more on the link between 1 and 2, both ways
                        ("clients" for every client connection, "controller")
    heal                every partition and slow link gone
    status [all]        brokers, and each partition's leader and ISR (all: internal topics too)
    quit                stop serving

What the controller decides (fencing, elections, ISR changes) is printed as it happens.
"""

import argparse
import logging
import sys
import threading

COMMANDS_HELP = ("commands: crash B | restart B | isolate B | partition A,B C | slow A B MS | "
                 "heal | status [all] | help | quit")
EVENT_POLL_SECONDS = 0.25


def add_arguments(parser):
    parser.add_argument("--brokers", type=int, default=3, help="how many brokers (default 3)")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, default=9092,
                        help="broker 0's port; broker N listens on PORT+N (0: any free ports)")
    parser.add_argument("--topic", action="append", default=[], metavar="NAME[:PARTITIONS[:RF]]",
                        help="create a topic first (repeatable)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="a broker config by Kafka's name (repeatable), e.g. "
                             "min.insync.replicas=2")
    parser.add_argument("--seed", type=int, default=0, help="the simulator's seed")
    parser.add_argument("--no-auto-create-topics", action="store_true",
                        help="auto.create.topics.enable=false: unknown topics stay unknown")
    parser.add_argument("--verbose", action="store_true",
                        help="log every connection the server closes, and why")


def config_value(text):
    """A --config value as Kafka's config parser would type it: integer, number, boolean
    or string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_configs(items):
    configs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--config takes KEY=VALUE, not {item!r}")
        configs[name.strip()] = config_value(value)
    return configs


def parse_topic(text):
    """``name[:partitions[:replication factor]]``."""
    name, *numbers = text.split(":")
    if len(numbers) > 2 or not name:
        raise ValueError(f"--topic takes NAME[:PARTITIONS[:RF]], not {text!r}")
    try:
        numbers = [int(n) for n in numbers]
    except ValueError:
        raise ValueError(f"--topic takes NAME[:PARTITIONS[:RF]], not {text!r}") from None
    return name, (numbers[0] if numbers else None), (numbers[1] if len(numbers) > 1 else None)


def node_name(text):
    """A broker id, or "controller" / "clients"."""
    return text if text in ("controller", "clients") else int(text)


def run_command(server, line):
    """One command line's answer, as text (raises ValueError for a line it cannot read)."""
    words = line.split()
    if not words:
        return None
    name, args = words[0].lower(), words[1:]
    try:
        if name == "crash" and len(args) == 1:
            return server.crash(int(args[0]))
        if name == "restart" and len(args) == 1:
            return server.restart(int(args[0]))
        if name == "isolate" and len(args) == 1:
            return server.isolate(int(args[0]))
        if name == "partition" and len(args) == 2:
            sides = [[node_name(n) for n in side.split(",") if n] for side in args]
            return server.partition(*sides)
        if name == "slow" and len(args) == 3:
            return server.slow(node_name(args[0]), node_name(args[1]), int(args[2]))
        if name == "heal" and not args:
            return server.heal()
        if name == "status" and args in ([], ["all"]):
            return server.status(internal=bool(args))
        if name == "help":
            return COMMANDS_HELP
    except ValueError:
        pass
    raise ValueError(f"cannot read {line.strip()!r}; {COMMANDS_HELP}")


class EventPrinter(threading.Thread):
    """Prints the controller's decisions (fencing, elections, ISR changes) and the faults,
    as they happen."""

    def __init__(self, server, say, seen):
        super().__init__(name="kafkadojo-serve-events", daemon=True)
        self.server, self.say, self.seen = server, say, seen
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(EVENT_POLL_SECONDS):
            try:
                events = self.server.events_since(self.seen)
            except Exception:       # noqa: BLE001 - the server is stopping
                return
            self.seen += len(events)
            for time_ms, text in events:
                self.say(f"[t={time_ms / 1000:.1f} s] {text}")


def serve(args, stdin=None, stdout=None):
    from kafkadojo.reference import Cluster, errors
    from kafkadojo.reference.network_server import Server
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    lock = threading.Lock()

    def say(text):
        with lock:
            print(text, file=stdout, flush=True)

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="kafkadojo serve: %(message)s", stream=sys.stderr)
    try:
        cluster = Cluster(brokers=args.brokers, seed=args.seed,
                          config=parse_configs(args.config))
        for topic in args.topic:
            cluster.create_topic(*parse_topic(topic))
        server = Server(cluster, host=args.host, port=args.port,
                        auto_create_topics=not args.no_auto_create_topics)
    except errors.KafkaError as error:      # a config or topic Kafka would refuse
        raise ValueError(str(error)) from None
    try:
        server.start()
    except OSError as error:
        raise ValueError(f"cannot listen on {args.host}:{args.port}: {error}") from None
    printer = EventPrinter(server, say, len(cluster.events))
    try:
        say(f"kafkadojo serve: {args.brokers} simulated broker(s)")
        say(f"bootstrap: {server.bootstrap_servers}")
        say(server.status())
        say(COMMANDS_HELP)
        printer.start()
        for line in stdin:
            if line.strip().lower() in ("quit", "exit"):
                break
            try:
                answer = run_command(server, line)
            except Exception as error:      # noqa: BLE001 - a command's error, not ours
                answer = f"? {error}"
            if answer:
                say(answer)
        else:
            # stdin closed (``kafkadojo serve < /dev/null``): go on serving until interrupted
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        printer.stopped.set()
        server.stop()
        say("kafkadojo serve: stopped")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kafkadojo serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(args)
    except ValueError as error:
        print(f"kafkadojo serve: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
