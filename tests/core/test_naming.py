"""The rules of dataset names and trigger words, at their edges."""

import pytest

from core.naming import (
    MAX_NAME_CHARS,
    MAX_TRIGGER_CHARS,
    RULES,
    NamingProblem,
    check_dataset_name,
    check_trigger_word,
)


def test_every_problem_has_the_daemons_wording() -> None:
    assert set(RULES) == set(NamingProblem)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("My Cat", None),
        ("my.cat", None),  # dots, spaces and accents are fine in a name
        ("Ünïcode 猫", None),
        ("x" * MAX_NAME_CHARS, None),
        ("", NamingProblem.name_length),
        ("x" * (MAX_NAME_CHARS + 1), NamingProblem.name_length),
        ("line\nbreak", NamingProblem.name_control_chars),
        ("zero\u200bwidth", NamingProblem.name_control_chars),
    ],
)
def test_dataset_names(name: str, problem: NamingProblem | None) -> None:
    assert check_dataset_name(name) == problem


@pytest.mark.parametrize(
    ("word", "problem"),
    [
        ("mycat", None),
        ("sks_Cat-2", None),
        ("x" * MAX_TRIGGER_CHARS, None),
        ("", NamingProblem.trigger_length),
        ("x" * (MAX_TRIGGER_CHARS + 1), NamingProblem.trigger_length),
        ("my.cat", NamingProblem.trigger_chars),
        ("two words", NamingProblem.trigger_chars),
        ("ünï", NamingProblem.trigger_chars),
        ("cat\n", NamingProblem.trigger_chars),
    ],
)
def test_trigger_words(word: str, problem: NamingProblem | None) -> None:
    assert check_trigger_word(word) == problem
