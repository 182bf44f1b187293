"""Typed answers asked aside from a conversation (a caption, a dataset's new name, …).

aiogram keeps one state per chat, so waiting for such an answer replaces the state of the
journey under way; the journey's state is noted when the question is asked and put back once
it is answered, so `/train`'s image step (say) still collects images afterwards.
"""

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State

# While an aside waits: the state it waits in, and the state to go back to ("" for none).
WAITING, RESUME = "aside_waiting", "aside_resume"


async def ask(state: FSMContext, waiting: State, **data: Any) -> None:
    """Wait for an answer in `waiting`, keeping `data` for it and noting where to go back.

    Asked while another aside still waits, the new question replaces it and keeps its way back.
    """
    stored, current = await state.get_data(), await state.get_state()
    aside_waits = current is not None and stored.get(WAITING) == current
    resume = stored.get(RESUME, "") if aside_waits else (current or "")
    await state.update_data(**data, **{RESUME: resume, WAITING: waiting.state})
    await state.set_state(waiting)


async def done(state: FSMContext) -> None:
    """The answer came: back to the conversation's state from before the question."""
    stored = await state.get_data()
    resume = stored.pop(RESUME, "")
    stored.pop(WAITING, None)
    await state.set_data(stored)
    await state.set_state(resume or None)
