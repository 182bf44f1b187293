"""The training journey's advanced settings, front-end neutral: after the preset, change steps,
rank, learning rate, resolution or batch size, and see the summary with the new price.

Telegram asks one setting at a time (a few values as buttons, or a typed one); Discord asks all
of them in one modal (`AdvancedSettings.form`). Every change is priced by the daemon's estimate
before it is kept: a value the daemon refuses changes nothing, and a kept one shows a new price
(a new quote, under a new summary id) that Confirm pays with exactly those values.
"""

from collections.abc import Callable, Mapping

from bots.common import advanced_texts as t
from bots.common.actions import Action
from bots.common.screens import Button, Expect, Form, FormField, Screen, StaleAction, chunk
from bots.common.train import PRICED, TrainFlow, TrainStep
from bots.common.tuning import BY_CODE, BY_NAME, PARAMS, BadValue, Param, Tuning, shown


class AdvancedSettings:
    """The advanced-settings steps of one journey; each moves `flow.state` like its steps."""

    def __init__(self, flow: TrainFlow) -> None:
        self.flow = flow
        self.state = flow.state

    @property
    def tuning(self) -> Tuning:
        return self.state.tuning

    def _require(self, *steps: TrainStep) -> None:
        if self.state.step not in steps:
            raise StaleAction(self.state.step)

    def _preset(self) -> str:
        if self.state.preset is None:
            raise StaleAction(self.state.step)
        return self.state.preset

    async def open(self, _: str = "") -> Screen:
        """Every setting with its value, to pick one (no daemon call: Discord opens its modal
        on this press, which must be the press's first answer)."""
        self._require(*PRICED)
        self.state.step = TrainStep.advanced
        self.tuning.editing = None
        return self._menu()

    async def pick(self, code: str) -> Screen:
        """Ask one setting's value."""
        self._require(TrainStep.advanced, TrainStep.tuning)
        param = BY_CODE.get(code)
        if param is None:
            raise StaleAction(code)
        self.state.step, self.tuning.editing = TrainStep.tuning, param.name
        return self._ask(param)

    def _editing(self) -> Param:
        param = BY_NAME.get(self.tuning.editing or "")
        if param is None:
            raise StaleAction(self.state.step)
        return param

    async def choose(self, arg: str) -> Screen:
        """A value's button: `<code>=<value>`."""
        self._require(TrainStep.tuning)
        code, _, text = arg.partition("=")
        param = BY_CODE.get(code)
        if param is None or param is not self._editing():
            raise StaleAction(arg)
        return await self._answer(param, text)

    async def typed(self, text: str) -> Screen:
        """A typed value of the setting being asked."""
        self._require(TrainStep.tuning)
        return await self._answer(self._editing(), text)

    async def _answer(self, param: Param, text: str) -> Screen:
        def again(note: str) -> Screen:
            return self._ask(param, note)

        try:
            changed = self.tuning.answered({param.name: text})
        except BadValue as bad:
            return again(f"{bad}\n{t.NOTHING_CHANGED}")
        return await self._priced(changed, again)

    async def submit(self, answers: Mapping[str, str]) -> Screen:
        """Every setting at once (the form's answers, by field name)."""
        self._require(*PRICED)

        def again(note: str) -> Screen:
            return Screen(note, [[Button(t.BTN_ADVANCED, Action.advanced)]])

        try:
            changed = self.tuning.answered(answers)
        except BadValue as bad:
            return again(f"{bad}\n{t.NOTHING_CHANGED}")
        return await self._priced(changed, again)

    async def reset(self, _: str = "") -> Screen:
        """The preset's values again, and their price."""
        self._require(*PRICED)
        return await self._priced(self.tuning.reset(), self._menu)

    async def summary(self, _: str = "") -> Screen:
        """Back to the summary with the values as they are."""
        self._require(TrainStep.advanced, TrainStep.tuning)
        return await self._priced(self.tuning.model_copy(deep=True), self._menu)

    async def _priced(self, changed: Tuning, refused: Callable[[str], Screen]) -> Screen:
        """Price `changed` and keep it with the summary; refused by the daemon, keep the old."""
        estimate = await self.flow.estimate(changed.overrides)
        if not estimate.ok:
            errors = "\n".join(f"• {e.message}" for e in estimate.errors)
            return refused(f"{t.REFUSED.format(errors=errors)}\n{t.NOTHING_CHANGED}")
        changed.editing = None
        self.state.tuning = changed
        # The summary on screen no longer shows these values: its Confirm is stale from here.
        self.state.summary_id = None
        return await self.flow.summary(estimate)

    # -- screens ----------------------------------------------------------------------------
    def _menu(self, note: str = "") -> Screen:
        """Every setting with its value: pick one to change."""
        tuning = self.tuning
        lines = []
        for p in PARAMS:
            preset = shown(p.name, tuning.preset[p.name])
            changed = t.MENU_PRESET.format(value=preset) if p.name in tuning.overrides else ""
            lines.append(
                t.MENU_LINE.format(label=t.LABELS[p.name], value=self._now(p), preset=changed)
            )
        text = t.MENU.format(offering=tuning.title, preset=self._preset(), values="\n".join(lines))
        buttons = [
            Button(
                t.BTN_SETTING.format(label=t.LABELS[p.name], value=self._now(p)),
                Action.tune,
                p.code,
            )
            for p in PARAMS
        ]
        back = [Button(t.BTN_SUMMARY, Action.tuned)]
        if tuning.overrides:
            back.append(Button(t.BTN_RESET, Action.reset_tuning))
        return Screen(_noted(note, text), [*chunk(buttons, 2), back])

    def _ask(self, param: Param, note: str = "") -> Screen:
        """One setting's value: a few as buttons, any other typed."""
        tuning, current = self.tuning, self.tuning.value(param.name)
        text = t.ASK_VALUE.format(
            **tuning.facts(param),
            value=self._now(param),
            preset=shown(param.name, tuning.preset[param.name]),
            hint=t.HINTS[param.name],
            kind=t.KIND_WHOLE if param.integer else t.KIND_NUMBER,
        )
        buttons = []
        for value in tuning.choices(param):
            label = shown(param.name, value)
            arg = f"{param.code}={label}"
            if value == current:
                label = t.BTN_CURRENT.format(value=label)
            buttons.append(Button(label, Action.set_value, arg))
        rows = [buttons, [Button(t.BTN_BACK, Action.advanced)]]
        prompt = t.LABELS[param.name]
        return Screen(_noted(note, text), rows, Expect.text, prompt, self._now(param))

    def form(self) -> Form:
        """Every setting in one form, prefilled with the values the training will use."""
        fields = [
            FormField(p.name, t.FORM_LABEL.format(**self.tuning.facts(p)), self._now(p))
            for p in PARAMS
        ]
        return Form(t.FORM_TITLE, fields)

    def _now(self, param: Param) -> str:
        return shown(param.name, self.tuning.value(param.name))


def _noted(note: str, text: str) -> str:
    """A screen's text under the note that answers the last value (if any)."""
    return f"{note}\n\n{text}" if note else text
