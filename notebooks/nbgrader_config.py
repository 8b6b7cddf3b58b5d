"""nbgrader configuration for the kafkadojo course (run nbgrader from this folder)."""

import os

from kafkadojo.autograder import nbgrader_plugin as kafkadojo

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "kafkadojo"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Grades come from kafkadojo's out-of-process grader, never from the learner's kernel:
# a learner's notebook cannot fool, hang or crash its way to a grade (or out of one).
c.Autograde.autograde_preprocessors = kafkadojo.AUTOGRADE_PREPROCESSORS
# Nor can its file: what is graded, and for how much, comes from the gradebook; a file that
# is no notebook gets a zero with its reason, and the rest of the class is graded.
c.Autograde.sanitize_preprocessors = kafkadojo.SANITIZE_PREPROCESSORS
c.Autograde.exporter_class = kafkadojo.KafkadojoSubmissions

# Hypothesis leaves a cache (.hypothesis/) wherever check() runs, a notebook's folder too: it is
# no course material, and nbgrader would release it and copy it into every graded submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis"]

# Pictures run the engine for a few seconds; the instructor's validation needs time for that.
c.ExecutePreprocessor.timeout = 120
