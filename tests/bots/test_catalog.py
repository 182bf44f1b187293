"""The `ru` catalog holds every text the bots can say, each translated with the same fields."""

import string

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bots.catalog import po_path, source_catalog
from bots.common import i18n
from core.languages import DEFAULT_LANGUAGE, LANGUAGES

TRANSLATED = [language for language in LANGUAGES if language != DEFAULT_LANGUAGE]


def fields(text: str) -> list[str]:
    """The `{name}` / `{name:spec}` fields of a format string, sorted (order may change)."""
    return sorted(
        f"{name}:{spec}" for _, name, spec, _ in string.Formatter().parse(text) if name is not None
    )


def forms(message: Message) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return ids, strings


@pytest.fixture(scope="module")
def source() -> Catalog:
    return source_catalog()


@pytest.fixture(scope="module", params=TRANSLATED)
def catalog(request: pytest.FixtureRequest) -> Catalog:
    with po_path(request.param).open("rb") as po:
        return read_po(po, locale=request.param)


def test_every_source_text_is_translated(source: Catalog, catalog: Catalog) -> None:
    missing = [m.id for m in source if m.id and (m.id not in catalog or not catalog[m.id].string)]
    assert missing == [], f"run `make messages` and translate in {catalog.locale}: {missing}"


def test_no_translation_is_empty_or_fuzzy(catalog: Catalog) -> None:
    for message in catalog:
        if not message.id:
            continue
        _, strings = forms(message)
        assert all(strings), f"empty translation of {message.id!r}"
        assert not message.fuzzy, f"fuzzy translation of {message.id!r}"


def test_translations_keep_the_fields(catalog: Catalog) -> None:
    for message in catalog:
        if not message.id:
            continue
        ids, strings = forms(message)
        expected = fields(ids[-1])
        for text in strings:
            assert fields(text) == expected, (message.id, text)


def test_plurals_have_every_form_of_the_language(catalog: Catalog) -> None:
    plurals = [m for m in catalog if m.id and isinstance(m.id, tuple)]
    assert plurals, "the counted texts use ngettext"
    for message in plurals:
        assert len(message.string) == catalog.num_plurals, message.id


def test_no_text_is_left_that_the_sources_dropped(source: Catalog, catalog: Catalog) -> None:
    stale = [m.id for m in catalog if m.id and m.id not in source]
    assert stale == [], "run `make messages` to drop them"


def test_russian_plural_forms_at_run_time() -> None:
    with i18n.use_locale("ru"):
        got = [
            i18n.ngettext("{ahead} job ahead of you", "{ahead} jobs ahead of you", n)
            for n in (1, 3, 5, 21)
        ]
    assert got == [
        "перед вами {ahead} задача",
        "перед вами {ahead} задачи",
        "перед вами {ahead} задач",
        "перед вами {ahead} задача",
    ]


def test_lazy_texts_follow_the_current_locale() -> None:
    from bots.common import texts

    with i18n.use_locale("ru"):
        russian = texts.CONFIRMED.format(cost=5, job_id=7)
    with i18n.use_locale(None, "de-DE"):  # a language the bots lack: English
        english = texts.CONFIRMED.format(cost=5, job_id=7)
    assert russian == "Оплачено баллов: 5. Задача #7 в очереди."
    assert english == "Paid 5 points. Job #7 is queued."
