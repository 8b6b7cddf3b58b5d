"""nbgrader configuration for the kafkadojo course (run nbgrader from this folder)."""

import os

from kafkadojo.autograder.nbgrader_plugin import AUTOGRADE_PREPROCESSORS

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "kafkadojo"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Grades come from kafkadojo's out-of-process grader, never from the learner's kernel:
# a learner's notebook cannot fool, hang or crash its way to a grade (or out of one).
c.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS

# Pictures run the engine for a few seconds; the instructor's validation needs time for that.
c.ExecutePreprocessor.timeout = 120
