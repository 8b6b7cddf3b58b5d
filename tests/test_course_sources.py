"""The course's Markdown sources: an author edits prose in notebooks/markdown/*.md, the
builder fills in the exercises from the catalog, and a stale notebook or a broken source
is reported plainly."""

import json
import shutil

import jupytext
import pytest

from kafkadojo.exercises import notebooks
from kafkadojo.exercises.catalog import ASSIGNMENTS, exercises_for


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A copy of the Markdown sources, built into notebooks of its own."""
    markdown = tmp_path / "markdown"
    shutil.copytree(notebooks.MARKDOWN, markdown)
    monkeypatch.setattr(notebooks, "MARKDOWN", markdown)
    monkeypatch.setattr(notebooks, "SOURCE", tmp_path / "source")
    assert notebooks.main([]) == 0
    return markdown


def built(assignment):
    return json.loads(notebooks.path_for(assignment).read_text())


def test_every_assignment_has_a_markdown_source_that_jupytext_reads_as_a_notebook():
    for assignment in ASSIGNMENTS:
        notebook = jupytext.read(notebooks.source_path(assignment), fmt="md:myst")
        assert notebook.cells[0].cell_type == "markdown"
        assert notebook.cells[0].source.startswith("# ")


def test_an_edited_sentence_reaches_the_notebook_and_check_fails_until_it_is_rebuilt(course, capsys):
    source = course / "log.md"
    old = "Offsets never change and are never reused"
    text = source.read_text()
    assert "offsets never change and are never reused" in text
    source.write_text(text.replace("offsets never change and are never reused",
                                   "an offset, once given, is never given again"))
    assert notebooks.main(["--check"]) == 1
    assert "log.ipynb" in capsys.readouterr().err
    assert notebooks.main([]) == 0 and notebooks.main(["--check"]) == 0
    prose = "\n".join(c["source"] for c in built("log")["cells"] if c["cell_type"] == "markdown")
    assert "an offset, once given, is never given again" in prose and old.lower() not in prose


def test_placeholders_become_the_catalogs_cells(course):
    for assignment in ASSIGNMENTS:
        cells = built(assignment)["cells"]
        grade_ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells]
        assert grade_ids.count("setup") == 1
        for exercise in exercises_for(assignment):
            solution = grade_ids.index(f"{exercise.grade_id}-solution")
            # heading, solution, visible tests, grade cell: in that order, together
            assert cells[solution - 1]["source"].startswith(f"### Exercise: `{exercise.function}`")
            assert grade_ids[solution + 1] == f"{exercise.grade_id}-visible"
            assert grade_ids[solution + 2] == exercise.grade_id
            assert cells[solution + 2]["metadata"]["nbgrader"]["points"] == exercise.points
            assert "### BEGIN SOLUTION" in cells[solution]["source"]


def test_visible_tests_are_edited_in_the_markdown(course):
    source = course / "isr.md"
    source.write_text(source.read_text().replace(
        "assert can_join_isr(10, 10, 8)\n",
        "assert can_join_isr(10, 10, 8)\nassert can_join_isr(12, 10, 8)   # past the HW\n"))
    assert notebooks.main([]) == 0
    visible = next(c for c in built("isr")["cells"]
                   if c["metadata"].get("nbgrader", {}).get("grade_id") == "isr-can_join_isr-visible")
    assert "assert can_join_isr(12, 10, 8)   # past the HW\n" in visible["source"]


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("```{exercise} isr.is_caught_up", "```{exercise} isr.is_caugt_up"),
     "no exercise 'isr.is_caugt_up' in isr"),
    (lambda t: t.replace("```{exercise} isr.can_join_isr", "```{exercize} isr.can_join_isr"),
     "unknown placeholder {exercize}"),
    (lambda t: t.replace(":id: picture_isr\n", ""), "a code cell needs an id"),
    (lambda t: t + "\n```{exercise} isr.is_caught_up\nassert True\n```\n",
     "more than once ['isr.is_caught_up']"),
    (lambda t: t + "\n```{exercise} log.should_roll\nassert True\n```\n",
     "no exercise 'log.should_roll' in isr"),
])
def test_a_broken_source_says_where_and_why(course, capsys, change, message):
    source = course / "isr.md"
    source.write_text(change(source.read_text()))
    assert notebooks.main(["--check"]) == 2
    error = capsys.readouterr().err
    assert "cannot build isr" in error and "isr.md" in error and message in error
