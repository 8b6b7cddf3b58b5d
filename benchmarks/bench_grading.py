"""Grading a class: ``kafkadojo grade`` (parallel) against plain ``nbgrader autograde``
(serial), on the same submissions, in one run.

Run with ``make bench-grading``. It builds a scratch course, releases every assignment with
nbgrader, submits the same notebooks for every learner (each learner submits every
assignment, filled with the reference solution: the costliest case, since every property
runs to the end), then times both graders and prints the rates and their ratio. It asserts
nothing: speed is tracked, not tested.

    python benchmarks/bench_grading.py [--learners 50] [--jobs 2] [--root build/bench-grading]
"""

import argparse
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--root", default="build/bench-grading")
    parser.add_argument("--skip-nbgrader", action="store_true")
    args = parser.parse_args()

    from kafkadojo.autograder.classroom import find_submissions, grade_class
    from kafkadojo.autograder.course import Course
    from kafkadojo.autograder.samples import SAMPLES, fill_notebook
    from kafkadojo.exercises.catalog import ASSIGNMENTS

    course = Course.scratch(args.root)
    print(f"releasing {', '.join(ASSIGNMENTS)} with nbgrader ...", flush=True)
    course.release()
    for assignment in ASSIGNMENTS:
        notebook = fill_notebook(course.release_notebook(assignment),
                                 SAMPLES[f"{assignment}-reference"].source())
        for i in range(args.learners):
            course.submit(f"learner-{i + 1:03d}", assignment, notebook)
    submissions = find_submissions(course.root / "submitted")
    print(f"{args.learners} learners x {len(ASSIGNMENTS)} assignments = {len(submissions)} "
          f"notebooks\n", flush=True)

    # One learner, everything: on one core, then as `kafkadojo grade --jobs N` grades it.
    one = [s for s in submissions if s.student == "learner-001"]
    results, seconds_one = grade_class(one, jobs=1, progress=None)
    assert all(r.earned == r.possible for r in results), "the reference must earn full marks"
    print(f"one learner, all {len(one)} assignments, 1 process: {seconds_one:.1f} s")
    results, seconds_one = grade_class(one, jobs=args.jobs, progress=None)
    assert all(r.earned == r.possible for r in results), "the reference must earn full marks"
    print(f"one learner, all {len(one)} assignments, kafkadojo grade --jobs {args.jobs}: "
          f"{seconds_one:.1f} s")
    # What a learner checking their notebooks one by one waits for, in all.
    from kafkadojo.autograder.grader import grade_path
    start = time.perf_counter()
    for submission in one:
        grade_path(submission.path, assignment=submission.assignment, jobs=args.jobs)
    print(f"one learner, kafkadojo check on each of the {len(one)} notebooks in turn "
          f"({args.jobs} exercises at once): {time.perf_counter() - start:.1f} s")

    results, seconds_cli = grade_class(submissions, jobs=args.jobs)
    full = sum(r.earned == r.possible for r in results)
    cli_rate = args.learners / seconds_cli * 60
    print(f"kafkadojo grade --jobs {args.jobs}: {seconds_cli:.1f} s, {cli_rate:.1f} learners/min "
          f"({full}/{len(results)} at full marks)", flush=True)

    if args.skip_nbgrader:
        return 0
    start = time.perf_counter()
    for assignment in ASSIGNMENTS:
        print(f"  nbgrader autograde {assignment} ...", flush=True)
        course.autograde([assignment])
    seconds_nbgrader = time.perf_counter() - start
    scores = course.scores()
    full = sum(score == max_score for score, max_score in scores.values())
    nbgrader_rate = args.learners / seconds_nbgrader * 60
    print(f"nbgrader autograde (serial): {seconds_nbgrader:.1f} s, {nbgrader_rate:.1f} "
          f"learners/min ({full}/{len(scores)} at full marks)")
    print(f"\nkafkadojo grade is {seconds_nbgrader / seconds_cli:.2f}x nbgrader autograde")
    return 0


if __name__ == "__main__":
    sys.exit(main())
