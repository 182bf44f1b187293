"""The language a person is answered in: their choice, their platform's, the one in use."""

from typing import Literal

from pydantic import Field

from daemon.schemas.common import Answer, Body

# The bots' languages (`core.languages.LANGUAGES`; this module imports pydantic only).
Language = Literal["en", "ru"]


class LanguageOut(Answer):
    language: Language = Field(description="The language the bots answer in.")
    choice: Language | None = Field(
        description="The person's own choice (/language); null: follow the platform's."
    )
    platform_locale: str | None = Field(
        description="The locale the chat app last reported (Telegram language_code, Discord)."
    )


class LanguageIn(Body):
    language: Language | None = Field(
        description="The language to answer in; null: follow the platform's locale."
    )
