"""The Discord bot in Russian: from the interaction's locale, and overridden by /language."""

from typing import Any

from tests.bots.conftest import Daemon, png
from tests.bots.fakes.discord import FakeDiscord
from tests.bots.test_discord import USER, WHO, _modal, _press, _slash, _start


async def test_the_journey_in_russian_with_its_notification(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    fake.locales[USER] = "ru"
    await daemon.grant(WHO, 1000)
    await _start(fake, daemon, run_bot)
    train = next(c for c in fake.commands if c["name"] == "train")
    assert train["description_localizations"] == {"ru": "Обучить LoRA"}
    assert "name_localizations" not in train or not train["name_localizations"]
    first = await _slash(fake, "train", "start", "Давайте создадим")
    asked = await _press(fake, first, "Новый датасет", "Отправьте мне название")
    await _modal(fake, asked, "Название датасета", "My Cat", "Отправляйте изображения")
    attachments = {"image1": ("a.png", png(1)), "image2": ("b.png", png(2))}
    ack = await _slash(fake, "train", "upload", "теперь 2", attachments=attachments)
    assert ack.content.startswith("Добавлено 2 изображения")
    # A posted message has no locale: the language the daemon keeps for the person.
    mark = len(fake.log)
    await fake.post(USER, "a cat asleep", [("c.png", png(3)), ("d.png", png(4))])
    await fake.wait_text("Добавлено 2 изображения — в «My Cat» теперь 4.", after=mark)
    offer = await _press(fake, ack, "Готово", "2 ваших изображения без подписи.")
    trigger = await _press(fake, offer, "Пропустить", "Предлагаю: mycat")
    offerings = await _press(fake, trigger, "Взять mycat", "Что обучать?")
    presets = await _press(fake, offerings, "Tiny LoRA", "выберите пресет")
    summary = await _press(fake, presets, "fast (шагов:", "Итог")
    progress = await _press(fake, summary, "Подтвердить и оплатить", "в очереди, место")
    await _press(fake, progress, "Отменить задачу", "была отменена; возвращено баллов")


async def test_language_overrides_the_locale_both_ways(
    daemon: Daemon, fake_discord: FakeDiscord, run_bot: Any
) -> None:
    fake = fake_discord
    fake.locales[USER] = "ru"
    await _start(fake, daemon, run_bot)
    asked = await _slash(fake, "language", "", "Язык: Русский (из настроек вашего приложения).")
    await _press(fake, asked, "English", "Done: I answer you in English from now on.")
    await _slash(fake, "account", "help", "What I can do")
    asked = await _slash(fake, "language", "", "Language: English. Which language")
    await _press(fake, asked, "Follow my app", "Готово: теперь я следую языку вашего приложения")
    await _slash(fake, "account", "help", "Что я умею")
