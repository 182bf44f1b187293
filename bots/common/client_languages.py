"""`LanguageCalls`: the routes of a person's language, mixed into `DaemonClient`."""

from bots.common.schemas import Actor
from bots.common.transport import Transport
from daemon.schemas import LanguageOut

# Asked before each answer: a slow or stopped daemon must not hold the answer up (the answer
# then comes in the platform's language, and says the service is not reachable if it needs it).
LOOKUP_TIMEOUT_SECONDS = 1.0


class LanguageCalls(Transport):
    """Which language a person is answered in, and their own choice of it."""

    async def language(self, actor: Actor) -> LanguageOut:
        """The person's language (one quick attempt, see `LOOKUP_TIMEOUT_SECONDS`)."""
        _, body = await self._call(
            "GET", "/v1/me/language", actor, attempts=1, timeout=LOOKUP_TIMEOUT_SECONDS
        )
        return LanguageOut.model_validate(body)

    async def set_language(self, actor: Actor, language: str | None) -> LanguageOut:
        """Choose the language (None: follow the platform's locale)."""
        body = {"language": language}
        return await self._send(
            "PUT", "/v1/me/language", actor, LanguageOut, json_body=body, repeatable=True
        )
