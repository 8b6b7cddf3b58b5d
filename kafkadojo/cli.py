"""The ``kafkadojo`` command line."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kafkadojo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a scripted scenario of the engine and print what happened")
    demo.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from kafkadojo.reference.demo import main as demo_main
        return demo_main(seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
