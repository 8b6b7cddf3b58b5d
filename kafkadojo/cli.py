"""The ``kafkadojo`` command line.

    kafkadojo demo                      release the course, autograde the samples with nbgrader
    kafkadojo demo --engine             a leader crash, then KIP-101's data loss and its fix
    kafkadojo exercises                 every exercise, its points and its seam
    kafkadojo stub replication -o .     write replication.py, a starter file of stubs
    kafkadojo check replication.py      grade your own work (a .py file or a notebook)
    kafkadojo grade SUBMITTED_DIR       grade a class in parallel (CSV, JSON, Gradescope)
    kafkadojo gradescope replication    build Gradescope's autograder.zip for an assignment
    kafkadojo samples DIR               write the sample submissions into DIR
    kafkadojo drill                     interview drills: questions the engine answers
    kafkadojo drill --export NAME       instructors: drills as a graded nbgrader quiz
    kafkadojo serve --brokers 3         the simulated cluster on 127.0.0.1:9092..., for real
                                        Kafka clients, with faults typed on stdin
"""

import argparse
import os
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kafkadojo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the nbgrader round trip on the sample submissions")
    demo.add_argument("--engine", action="store_true",
                      help="instead: a scripted scenario of the engine")
    demo.add_argument("--seed", type=int, default=7, help="the engine scenario's seed")
    demo.add_argument("--dir", default="build/course", help="scratch course folder")

    sub.add_parser("exercises", help="list the exercises")

    stub = sub.add_parser("stub", help="write a starter file for an assignment")
    stub.add_argument("assignment")
    stub.add_argument("-o", "--output", default=".", help="directory (default: here)")

    check = sub.add_parser("check", help="grade your work against the hidden properties")
    check.add_argument("path", help="a .py file or a .ipynb notebook")
    check.add_argument("--assignment", help="grade every exercise of this assignment")
    check.add_argument("--only", action="append", metavar="EXERCISE",
                       help="grade only this exercise id (repeatable)")
    check.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="exercises graded at once (default: one per core)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--verbose", action="store_true", help="list passed properties too")

    grade = sub.add_parser("grade", help="grade a class: nbgrader's submitted/ folder or loose files")
    grade.add_argument("directory", help="submitted/<student>/<assignment>/, or a folder of files")
    grade.add_argument("--assignment", help="only this assignment (or: loose files are this one)")
    grade.add_argument("--jobs", type=int, default=None, help="parallel graders (default: cores)")
    grade.add_argument("--csv", help="write per-exercise scores here")
    grade.add_argument("--gradebook", help="write the class gradebook here (CSV: one row per "
                                           "student, one column per assignment, a total)")
    grade.add_argument("--json", help="write full reports here")
    grade.add_argument("--gradescope", help="write Gradescope's results.json here (one submission)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument("--allow-unisolated", action="store_true",
                       help="grade even though learner code cannot be isolated by the operating "
                            "system; the grades are then not tamper-proof")

    gradescope = sub.add_parser("gradescope", help="build Gradescope's autograder package "
                                                   "for an assignment")
    gradescope.add_argument("assignment")
    gradescope.add_argument("-o", "--output", default="autograder.zip",
                            help="the zip to write (default: autograder.zip)")
    gradescope.add_argument("--allow-unisolated", action="store_true",
                            help="grade even where the container cannot isolate learner code "
                                 "(Gradescope's containers often cannot); such grades are "
                                 "not tamper-proof")

    samples = sub.add_parser("samples", help="write the sample submissions")
    samples.add_argument("directory")

    drill = sub.add_parser("drill", help="interview drills: short questions, answered by "
                                         "the engine")
    drill.add_argument("--concept", help="only this concept (partitioning, replication, ...)")
    drill.add_argument("--kind", help="only this kind of question (see --list)")
    drill.add_argument("--level", type=int, help="1 (small) to 3 (more brokers, members, "
                                                 "faults)")
    drill.add_argument("--replay", type=int, metavar="SEED",
                       help="ask the question of --kind for this seed again")
    drill.add_argument("--count", type=int, default=5, help="how many questions (default 5)")
    drill.add_argument("--minutes", type=float,
                       help="a timed mock interview of mixed questions")
    drill.add_argument("--list", action="store_true", help="list the kinds of questions")
    drill.add_argument("--stats", action="store_true", help="your progress, as a chart")
    drill.add_argument("--history", metavar="FILE",
                       help="where your drill history is kept (default: your data folder, "
                            "or $KAFKADOJO_DATA_DIR)")
    drill.add_argument("--no-history", action="store_true",
                       help="neither read nor record a history (no spaced repetition)")
    drill.add_argument("--export", metavar="NAME",
                       help="instructors: write --count questions (of --concept, --kind, "
                            "--level) as an nbgrader assignment NAME, graded by kafkadojo")
    drill.add_argument("--course", default=".",
                       help="with --export: the nbgrader course folder (default: here)")
    drill.add_argument("--seed", type=int,
                       help="with --export: choose the questions from this seed (the same "
                            "seed, the same quiz); default: at random")
    drill.add_argument("--points", type=int, default=1,
                       help="with --export: points per question (default 1)")
    drill.add_argument("--force", action="store_true",
                       help="with --export: replace a quiz of the same name")

    from kafkadojo.serve import add_arguments as add_serve_arguments
    add_serve_arguments(sub.add_parser(
        "serve", help="real Kafka clients against the simulated cluster, faults on stdin"))

    args = parser.parse_args(argv)
    from kafkadojo.autograder.sandbox import IsolationUnavailable
    try:
        return COMMANDS[args.command](args)
    except (KeyError, ValueError, FileNotFoundError, IsolationUnavailable) as error:
        print(f"kafkadojo {args.command}: {error}", file=sys.stderr)
        return 2


def run_drill(args):
    from kafkadojo.exercises import drills
    from kafkadojo.exercises.drills.runner import run
    if args.list:
        kinds = drills.load_kinds()
        for name in drills.kinds_for(args.concept):
            print(f"{name:<30} levels {','.join(map(str, kinds[name].levels)):<6} "
                  f"{kinds[name].summary}")
        return 0
    if args.replay is not None and not args.kind:
        raise ValueError("--replay needs the --kind it replays")
    if args.kind:
        drills.ask(args.kind, 0, 1)                 # an unknown kind fails here, clearly
    if args.concept:
        drills.kinds_for(args.concept)
    if args.level is not None and args.level not in drills.LEVELS:
        raise ValueError(f"--level is one of {list(drills.LEVELS)}, not {args.level}")
    if args.count < 1:
        raise ValueError(f"--count must be 1 or more, not {args.count}")
    if args.export:
        return export_quiz(args)
    from kafkadojo.exercises.drills.history import History, format_stats
    history = None if args.no_history else History(args.history)
    try:
        if args.stats:
            print(format_stats(history or History(args.history)))
            return 0
        run(concept=args.concept, kind=args.kind, level=args.level, seed=args.replay,
            count=args.count, minutes=args.minutes, history=history)
    finally:
        if history is not None:
            history.close()
    return 0


def export_quiz(args):
    from kafkadojo.exercises.drills import quiz
    if args.points < 1:
        raise ValueError(f"--points must be 1 or more, not {args.points}")
    questions = quiz.pick(args.count, args.concept, args.kind, args.level, args.seed)
    path = quiz.export(args.export, questions, args.course, args.points, args.force)
    print(f"wrote {path}: {len(questions)} questions, {len(questions) * args.points} points")
    for number, (kind, level, _) in enumerate(questions, 1):
        print(f"  {number:>2}. {kind}, level {level}")
    print(f"release it with:  nbgrader generate_assignment {args.export}   (in {args.course})")
    return 0


def run_demo(args):
    if args.engine:
        from kafkadojo.reference.demo import main as demo_main
        return demo_main(seed=args.seed)
    from kafkadojo.autograder.course import main as course_main
    return course_main(args.dir)


def list_exercises(args):
    from kafkadojo.exercises.catalog import EXERCISES
    for exercise in EXERCISES:
        seam = f"seam {exercise.seam}" if exercise.seam else "graded on its own"
        worth = f"{exercise.points} point{'s' if exercise.points != 1 else ''}"
        print(f"{exercise.id:<38} {worth:<9} {seam}")
    return 0


def write_stub(args):
    from kafkadojo.exercises.catalog import stub_module
    source = stub_module(args.assignment)
    path = Path(args.output) / f"{args.assignment}.py"
    if path.exists():
        raise ValueError(f"{path} exists already: not overwriting your work")
    path.write_text(source)
    print(f"wrote {path}: fill in the functions, then run: kafkadojo check {path}")
    return 0


def run_check(args):
    from kafkadojo.autograder.grader import grade_path
    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be 1 or more, not {args.jobs}")
    report = grade_path(path, assignment=args.assignment, only=args.only, jobs=args.jobs)
    if not report.exercises:
        print(f"kafkadojo check: {path} defines no exercise function; "
              f"try --assignment NAME (see `kafkadojo exercises`)", file=sys.stderr)
        return 2
    # Both say so when this is a self-check, not a tamper-proof grade (Report.isolation).
    print(report.to_json() if args.json else report.format(verbose=args.verbose))
    return 0 if report.earned == report.possible else 1


def run_grade(args):
    from kafkadojo.autograder import classroom
    from kafkadojo.autograder.sandbox import IsolationUnavailable, require_isolation
    submissions = classroom.find_submissions(args.directory, args.assignment)
    problem = None
    if not submissions:
        problem = f"no submissions under {args.directory} (a .ipynb notebook or a .py file)"
    elif args.gradescope and len(submissions) != 1:
        problem = (f"--gradescope grades one submission, and there are {len(submissions)}: "
                   f"{', '.join(s.path.name for s in submissions)}; hand in one file")
    try:
        if problem:
            raise ValueError(problem)
        require_isolation(args.allow_unisolated)
    except (ValueError, IsolationUnavailable) as error:
        if args.gradescope:     # Gradescope shows the learner this, with zero points
            classroom.write_gradescope_problem(str(error), args.assignment, args.gradescope)
        raise
    results, seconds = classroom.grade_class(submissions, args.jobs,
                                             progress=None if args.quiet else sys.stderr)
    print(classroom.table(results))
    print("\n" + classroom.summary(results, seconds))
    # Only now, with every grading process gone, and each file whole or not at all.
    if args.csv:
        classroom.write_csv(results, args.csv)
    if args.gradebook:
        classroom.write_gradebook(results, args.gradebook)
    if args.json:
        classroom.write_json(results, args.json)
    if args.gradescope:
        classroom.write_gradescope(results[0], seconds, args.gradescope)
    return 0


def build_gradescope(args):
    from kafkadojo.autograder.gradescope import build_package
    path = build_package(args.assignment, args.output, args.allow_unisolated)
    print(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment "
          f"(base image Ubuntu 24.04); learners hand in their {args.assignment}.ipynb")
    return 0


def run_serve(args):
    from kafkadojo.serve import serve
    return serve(args)


def write_samples(args):
    from kafkadojo.autograder.samples import write_samples as write
    for path in write(args.directory):
        print(path)
    return 0


COMMANDS = {"demo": run_demo, "exercises": list_exercises, "stub": write_stub,
            "check": run_check, "grade": run_grade, "gradescope": build_gradescope,
            "samples": write_samples, "drill": run_drill, "serve": run_serve}


if __name__ == "__main__":
    sys.exit(main())
