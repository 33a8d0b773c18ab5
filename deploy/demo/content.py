"""What the demo is made of: three courses with every question kind, and how learners answer.

The answers are drawn from a seeded `random.Random`, with a spread a real customer would show:
each learner has a skill (how often a knowledge question is answered right), a mood (where
scale answers lie) and a habit of writing free text or not; some skip the course or stop half
way. Every question gets enough answers from 60 learners for k-anonymous statistics (k = 5)
per question and per answer option in the reporting issue.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

QuestionKind = Literal["single_choice", "multiple_choice", "scale", "free_text"]


@dataclass(frozen=True)
class Question:
    kind: QuestionKind
    text: str
    options: tuple[str, ...] = ()
    correct: frozenset[int] = frozenset()  # indices of the right options (knowledge questions)
    scale: tuple[int, int] = (1, 5)
    scale_mean: float = 3.5  # where the answers of an average learner lie
    phrases: tuple[str, ...] = ()  # free text: what learners write, in their words


@dataclass(frozen=True)
class Module:
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class CourseDefinition:
    title: str
    description: str
    modules: tuple[Module, ...]

    @property
    def questions(self) -> list[Question]:
        return [question for module in self.modules for question in module.questions]


COURSES: tuple[CourseDefinition, ...] = (
    CourseDefinition(
        title="Demo: Sikker bruk av stillas",
        description="Montering, kontroll og bruk av stillas på byggeplassen.",
        modules=(
            Module(
                "Før du går opp",
                (
                    Question(
                        "single_choice",
                        "Hvem skal kontrollere stillaset før det tas i bruk?",
                        ("Den som skal bruke det", "En kompetent person", "Byggherren"),
                        correct=frozenset({1}),
                    ),
                    Question(
                        "multiple_choice",
                        "Hva skal være på plass før arbeid på stillaset?",
                        ("Rekkverk", "Fotlist", "Skilt om kontroll", "Radio"),
                        correct=frozenset({0, 1, 2}),
                    ),
                ),
            ),
            Module(
                "På stillaset",
                (
                    Question(
                        "scale",
                        "Hvor trygg føler du deg når du arbeider på stillas?",
                        scale=(1, 5),
                        scale_mean=3.8,
                    ),
                    Question(
                        "free_text",
                        "Hva kan gjøre stillasarbeidet tryggere hos dere?",
                        phrases=(
                            "Bedre opplæring av nye",
                            "Mer tid til kontroll om morgenen",
                            "Ryddigere stillas",
                            "Flere rekkverk på hjørnene",
                            "Tydeligere skilting",
                            "At noen har ansvar for nøkkelen til stillasmateriell",
                        ),
                    ),
                ),
            ),
        ),
    ),
    CourseDefinition(
        title="Demo: Arbeid i høyden",
        description="Fallsikring, stiger og lift.",
        modules=(
            Module(
                "Fallsikring",
                (
                    Question(
                        "single_choice",
                        "Fra hvilken høyde krever forskriften sikring mot fall?",
                        ("1 meter", "2 meter", "5 meter"),
                        correct=frozenset({1}),
                    ),
                    Question(
                        "multiple_choice",
                        "Hvilket utstyr er personlig fallsikring?",
                        ("Sele", "Falldemper", "Hjelm", "Forankringspunkt"),
                        correct=frozenset({0, 1, 3}),
                    ),
                    Question(
                        "scale",
                        "Hvor ofte sjekker du selen før bruk? (1 aldri, 5 hver gang)",
                        scale=(1, 5),
                        scale_mean=3.4,
                    ),
                ),
            ),
            Module(
                "Stige og lift",
                (
                    Question(
                        "single_choice",
                        "Hvilken vinkel er riktig for en lent stige?",
                        ("Omtrent 45 grader", "Omtrent 75 grader", "Loddrett"),
                        correct=frozenset({1}),
                    ),
                    Question(
                        "free_text",
                        "Beskriv en situasjon der du var usikker i høyden.",
                        phrases=(
                            "Da stigen sto på glatt underlag",
                            "Vind på taket",
                            "Lift uten opplæring",
                            "Mørkt og vått",
                            "Manglende forankring",
                        ),
                    ),
                ),
            ),
        ),
    ),
    CourseDefinition(
        title="Demo: Arbeidsmiljø på byggeplassen",
        description="Trivsel, samarbeid og å si fra.",
        modules=(
            Module(
                "Trivsel",
                (
                    Question(
                        "scale",
                        "Hvor godt trives du på jobben?",
                        scale=(1, 5),
                        scale_mean=3.9,
                    ),
                    Question(
                        "scale",
                        "Hvor lett er det å si fra om feil og farer?",
                        scale=(1, 5),
                        scale_mean=3.2,
                    ),
                    Question(
                        "single_choice",
                        "Hvem sier du helst fra til?",
                        ("Nærmeste leder", "Verneombud", "En kollega", "Ingen"),
                    ),
                    Question(
                        "multiple_choice",
                        "Hva påvirker trivselen din mest?",
                        ("Kolleger", "Lønn", "Arbeidstid", "Ledelse", "Utstyr"),
                    ),
                    Question(
                        "free_text",
                        "Hva ville gjort arbeidsdagen din bedre?",
                        phrases=(
                            "Bedre planlegging",
                            "Mer ros",
                            "Ordentlig brakke",
                            "Færre overtidstimer",
                            "Tydeligere beskjeder",
                            "Felles lunsj",
                        ),
                    ),
                ),
            ),
        ),
    ),
)


@dataclass(frozen=True)
class LearnerHabits:
    """How one learner answers: drawn once per learner, so their answers hang together."""

    takes_part: bool
    finishes: bool
    skill: float  # chance of a right option in a knowledge question
    mood: float  # added to every scale mean
    writes_text: bool


def habits(rng: random.Random) -> LearnerHabits:
    return LearnerHabits(
        takes_part=rng.random() < 0.85,
        finishes=rng.random() < 0.6,
        skill=min(0.95, max(0.3, rng.gauss(0.72, 0.15))),
        mood=rng.gauss(0.0, 0.7),
        writes_text=rng.random() < 0.55,
    )


@dataclass(frozen=True)
class DrawnAnswer:
    """One answer, independent of the HTTP shape: chosen option indices, a value or a text."""

    options: tuple[int, ...] = ()
    value: int | None = None
    text: str | None = None


def draw_answer(question: Question, who: LearnerHabits, rng: random.Random) -> DrawnAnswer | None:
    """The answer `who` gives to `question`, or None when they leave a free-text question
    open (free text is optional: the other questions are required to complete)."""
    count = len(question.options)
    if question.kind == "single_choice":
        if question.correct and rng.random() < who.skill:
            return DrawnAnswer(options=(min(question.correct),))
        # Opinion questions and wrong answers: earlier options are a little more popular.
        weights = [count - index + 1.0 for index in range(count)]
        return DrawnAnswer(options=(rng.choices(range(count), weights=weights)[0],))
    if question.kind == "multiple_choice":
        chosen = [
            index
            for index in range(count)
            if rng.random() < (who.skill if index in question.correct else 0.35)
        ]
        return DrawnAnswer(options=tuple(chosen or [rng.randrange(count)]))
    if question.kind == "scale":
        low, high = question.scale
        value = round(rng.gauss(question.scale_mean + who.mood, 0.8))
        return DrawnAnswer(value=max(low, min(high, value)))
    if not who.writes_text:
        return None
    text = rng.choice(question.phrases)
    if rng.random() < 0.4:
        text += rng.choice((".", ", synes jeg.", " - det har vi snakket om før.", "!"))
    return DrawnAnswer(text=text)
