"""The rules of dataset names and trigger words, at their edges."""

from collections.abc import Callable

import pytest

from core import naming
from core.naming import NamingProblem


def test_every_problem_has_the_daemons_wording() -> None:
    assert set(naming.RULES) == set(NamingProblem)


@pytest.mark.parametrize(
    ("check", "limit", "problem"),
    [
        (naming.check_dataset_name, naming.MAX_NAME_CHARS, NamingProblem.name_length),
        (naming.check_trigger_word, naming.MAX_TRIGGER_CHARS, NamingProblem.trigger_length),
    ],
)
def test_length_edges(
    check: Callable[[str], NamingProblem | None], limit: int, problem: NamingProblem
) -> None:
    assert check("x" * limit) is None
    assert check("") == problem
    assert check("x" * (limit + 1)) == problem


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("My Cat", None),
        ("my.cat", None),  # dots, spaces and accents are fine in a name
        ("Ünïcode 猫", None),
        ("line\nbreak", NamingProblem.name_control_chars),
        ("zero\u200bwidth", NamingProblem.name_control_chars),
    ],
)
def test_dataset_names(name: str, problem: NamingProblem | None) -> None:
    assert naming.check_dataset_name(name) == problem


@pytest.mark.parametrize(
    ("word", "problem"),
    [
        ("mycat", None),
        ("sks_Cat-2", None),
        ("my.cat", NamingProblem.trigger_chars),
        ("two words", NamingProblem.trigger_chars),
        ("ünï", NamingProblem.trigger_chars),
        ("cat\n", NamingProblem.trigger_chars),
    ],
)
def test_trigger_words(word: str, problem: NamingProblem | None) -> None:
    assert naming.check_trigger_word(word) == problem
