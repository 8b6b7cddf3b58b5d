"""Flashcards: concept questions the engine cannot check. The learner answers, reads the
model answer, and rates themselves."""

from . import drill_kind


def flashcards(concept, cards):
    """Register ``<concept>.card``: one of ``cards`` (question, model answer) per seed."""
    @drill_kind(f"{concept}.card", "card", summary=f"a concept question on {concept}",
                levels=(1,))
    def card(rng, level):
        index = rng.randrange(len(cards))
        question, model = cards[index]
        return (index,), question, model, "Rate yourself against the model answer."
    return card
