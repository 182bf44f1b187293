"""The Telegram bot in Russian: from the app's `language_code`, and overridden by /language."""

from typing import Any

from bots.common.client import DaemonClient
from bots.common.schemas import Actor
from bots.telegram.main import run
from tests.bots.conftest import Daemon, png
from tests.bots.fakes.telegram import FakeTelegram
from tests.bots.test_telegram import USER, WHO, _press, _say, _settings


async def test_the_journey_in_russian_with_its_notification(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any
) -> None:
    fake = fake_telegram
    fake.language_codes[USER] = "ru"
    await daemon.grant(WHO, 1000)
    run_bot(run, _settings(daemon, fake))
    first = await _say(fake, "/train", "Давайте создадим")
    await _press(fake, first, "Новый датасет", "Отправьте мне название")
    await _say(fake, "My Cat", "В датасете «My Cat» 0 изображений.")
    for n in range(1, 5):
        mark = len(fake.log)
        fake.send_photo(USER, png(n))
        ack = await fake.wait_text(f"теперь {n}", after=mark)
    assert ack.text == "Добавлено 1 изображение — в «My Cat» теперь 4."
    offer = await _press(fake, ack, "Готово", "4 ваших изображения без подписи.")
    trigger = await _press(fake, offer, "Пропустить", "Предлагаю: mycat")
    offerings = await _press(fake, trigger, "Взять mycat", "Что обучать?")
    presets = await _press(fake, offerings, "Tiny LoRA", "выберите пресет")
    summary = await _press(fake, presets, "fast (шагов:", "Итог")
    assert "Ожидаемое время:" in summary.text and "Очередь: вы следующий" in summary.text
    progress = await _press(fake, summary, "Подтвердить и оплатить", "в очереди, место")
    # Cancelling sends the job_cancelled notification: delivered in the person's language.
    await _press(fake, progress, "Отменить задачу", "была отменена; возвращено баллов")
    # The command menu is set in both languages.
    menus = {
        code: {c["command"]: c["description"] for c in m} for code, m in fake.command_menus.items()
    }
    assert menus["ru"]["train"] == "Обучить LoRA на ваших изображениях"
    assert menus[""]["train"] == "Train a LoRA from your images"


async def test_language_overrides_the_app_both_ways(
    daemon: Daemon, fake_telegram: FakeTelegram, run_bot: Any, rpc: DaemonClient
) -> None:
    fake = fake_telegram
    fake.language_codes[USER] = "ru"
    run_bot(run, _settings(daemon, fake))
    asked = await _say(fake, "/language", "Язык: Русский (из настроек вашего приложения).")
    await _press(fake, asked, "English", "Done: I answer you in English from now on.")
    await _say(fake, "/help", "What I can do")  # English, though the app says Russian
    me = await rpc.language(Actor(platform="telegram", user_id=str(USER)))
    assert (me.language, me.choice, me.platform_locale) == ("en", "en", "ru")
    asked = await _say(fake, "/language", "Language: English. Which language")
    await _press(fake, asked, "Follow my app", "Готово: теперь я следую языку вашего приложения")
    await _say(fake, "/help", "Что я умею")
    asked = await _say(fake, "/language", "Язык: Русский")
    await _press(fake, asked, "Русский", "Готово: теперь я отвечаю вам по-русски.")
    fake.language_codes[USER] = "en"  # the app changes; the choice stands
    await _say(fake, "/help", "Что я умею")
