"""nbgrader integration: grades come from the out-of-process grader, not from the kernel.

In a learner's kernel, a test cell can be fooled (a patched ``print``, an object whose
``__eq__`` lies, a loop that swallows the interrupt and makes nbgrader record no grade at
all). So ``nbgrader autograde`` here does not execute learner code in a kernel: the
``KafkadojoGrades`` preprocessor takes the notebook's solution cells, grades each exercise
in a sandbox, and writes into each grade cell the feedback text and the points earned,
which nbgrader's ``SaveAutoGrades`` reads as partial credit.

In ``nbgrader_config.py``::

    from kafkadojo.autograder.nbgrader_plugin import AUTOGRADE_PREPROCESSORS
    c.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, Preprocessor
from nbformat.v4 import new_output
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

from kafkadojo.exercises.catalog import BY_GRADE_ID

from .grader import grade_source


def solution_cells_source(notebook):
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"
             and (cell.metadata.get("nbgrader", {}).get("solution")
                  or cell.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-givens"))]
    return "\n\n".join(
        "\n".join(line for line in cell.source.splitlines()
                  if not line.lstrip().startswith(("%", "!")))
        for cell in cells)


class KafkadojoGrades(Preprocessor):
    """Fill every exercise grade cell with the out-of-process grader's verdict."""

    enabled = True      # nbconvert preprocessors are off unless enabled

    def preprocess(self, notebook, resources):
        source = solution_cells_source(notebook)
        graded = [cell for cell in notebook.cells if cell.cell_type == "code"
                  and cell.metadata.get("nbgrader", {}).get("grade")
                  and cell.metadata["nbgrader"].get("grade_id") in BY_GRADE_ID]
        ids = [BY_GRADE_ID[cell.metadata["nbgrader"]["grade_id"]].id for cell in graded]
        report = grade_source(source, ids, submission=resources.get("unique_key", "notebook"))
        for cell, result in zip(graded, report.exercises):
            one = type(report)(report.submission, [result], result.seconds)
            cell.outputs = [
                new_output("stream", name="stdout", text=one.format(verbose=True) + "\n"),
                new_output("execute_result", data={"text/plain": str(result.earned)},
                           execution_count=None),
            ]
            cell.execution_count = None
        return notebook, resources


AUTOGRADE_PREPROCESSORS = [
    KafkadojoGrades,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
