"""The drills in JupyterLab: the same questions as ``kafkadojo drill``, with ipywidgets.

    from kafkadojo.exercises.drills.widget import show_drills
    show_drills()
"""

import html
import random

from kafkadojo.exercises.pictures import HIDE_STATIC_COPY, STATIC_COPY

from . import CONCEPTS, Session, ask, shown
from .runner import choose, summary

# The example the still picture answers: acks=all, yet acknowledged records lost to an
# unclean election, with the engine's timeline
STILL_EXAMPLE = ("replication.acks-crash", 12, 3)


class DrillPanel:
    """A concept and a level to choose, a question, an answer box, the verdict with the
    engine's explanation, and the session's score. A flashcard shows its model answer and
    asks for a self-rating. With a ``history``, spaced repetition picks the kinds."""

    def __init__(self, concept=None, level=1, history=None, rng=None):
        import ipywidgets as widgets
        self.rng = rng or random.Random()
        self.history = history
        self.session = Session()
        self.question = None
        self.answered = False
        self.concept = widgets.Dropdown(
            options=[("every concept", None)] + [(c, c) for c in CONCEPTS], value=concept,
            description="Concept")
        self.level = widgets.IntSlider(value=level, min=1, max=3, description="Level")
        self.prompt = widgets.HTML()
        self.answer = widgets.Textarea(placeholder="your answer", layout={"width": "60%"})
        self.check_button = widgets.Button(description="Check", button_style="primary")
        self.next_button = widgets.Button(description="Next question")
        self.had_it = widgets.Button(description="I had it", button_style="success")
        self.missed_it = widgets.Button(description="I did not", button_style="warning")
        self.feedback = widgets.HTML()
        self.score = widgets.HTML()
        self.check_button.on_click(lambda _: self.check())
        self.next_button.on_click(lambda _: self.next_question())
        self.had_it.on_click(lambda _: self.rate(True))
        self.missed_it.on_click(lambda _: self.rate(False))
        self.ratings = widgets.HBox([self.had_it, self.missed_it])
        # Once the panel is drawn, its still picture (below) is hidden.
        self.widget = widgets.VBox([
            widgets.HTML(HIDE_STATIC_COPY),
            widgets.HBox([self.concept, self.level]), self.prompt, self.answer,
            widgets.HBox([self.check_button, self.next_button]), self.ratings,
            self.feedback, self.score])
        self.next_question()

    def next_question(self):
        concept, level = self.concept.value, self.level.value
        if self.history is not None:
            kind = self.history.next_kind(self.rng, concept)
            self.question = ask(*choose(self.rng, kind=kind, level=level))
        else:
            self.question = ask(*choose(self.rng, concept, level=level))
        self.answered = False
        self.answer.value = ""
        self.feedback.value = ""
        self.ratings.layout.display = "none"
        self.check_button.description = ("Show the model answer" if self.question.flashcard
                                         else "Check")
        self.prompt.value = (f"<b>{html.escape(self.question.kind)}</b>, level "
                             f"{self.question.level} <small>(replay: <code>"
                             f"{html.escape(self.question.replay)}</code>)</small>"
                             f"<pre style='white-space: pre-wrap'>"
                             f"{html.escape(self.question.prompt)}</pre>")

    def check(self):
        if self.answered:
            return
        question = self.question
        if question.flashcard:
            self.feedback.value = (f"<b>Model answer:</b> {html.escape(question.answer)}"
                                   f"<br>Did you have it?")
            self.ratings.layout.display = None
            return
        verdict = question.check(self.answer.value)
        self._record(verdict.right)
        read_as = (f" (read as: {html.escape(verdict.understood)})"
                   if verdict.understood and not verdict.right else "")
        head = ("<b style='color: #2e7d32'>Right.</b>" if verdict.right else
                f"<b style='color: #c62828'>Not quite</b>{read_as}. The engine says: "
                f"<code>{html.escape(verdict.expected)}</code>.")
        picture = question.picture.html() if question.picture is not None else ""
        self.feedback.value = f"{head} {html.escape(verdict.explanation)}{picture}"

    def rate(self, right):
        if self.answered or not self.question.flashcard:
            return
        self._record(right)
        self.ratings.layout.display = "none"

    def _record(self, right):
        self.answered = True
        self.session.record(self.question, right)
        if self.history is not None:
            self.history.record(self.question, right)
        self.score.value = f"<pre>{html.escape(summary(self.session))}</pre>"


def still_picture(kind=STILL_EXAMPLE[0], seed=STILL_EXAMPLE[1], level=STILL_EXAMPLE[2]):
    """The panel as a page without widgets shows it (a notebook viewer, an HTML export): one
    question, answered, with the engine's answer and picture."""
    question = ask(kind, seed, level)
    picture = question.picture.html() if question.picture is not None else ""
    return (f"<div class='{STATIC_COPY}' style='border:1px solid #ddd;padding:8px'>"
            f"<b>{html.escape(question.kind)}</b>, level {question.level} <small>(replay: "
            f"<code>{html.escape(question.replay)}</code>)</small>"
            f"<pre style='white-space: pre-wrap'>{html.escape(question.prompt)}</pre>"
            f"<b>The engine's answer:</b> <code>{html.escape(shown(question.answer, question.form))}"
            f"</code>. {html.escape(question.explanation)}{picture}"
            f"<div style='font:11px sans-serif;color:#777'>(a still picture: run the notebook, "
            f"or <code>kafkadojo drill</code> in a terminal, to answer questions yourself)"
            f"</div></div>")


def show_drills(concept=None, level=1, history="default"):
    """The drill panel; ``history="default"`` keeps your history in your data folder (as
    ``kafkadojo drill`` does), None keeps none. In a kernel, a still picture is shown
    first, for wherever widgets cannot run; the panel hides it."""
    if history == "default":
        from .history import History
        history = History()
    panel = DrillPanel(concept, level, history)
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        return panel.widget
    if get_ipython() is not None:
        display(HTML(still_picture()))
    return panel.widget
