"""The handler of each job kind."""

from core.enums import JobKind
from daemon.queue.kinds import KindHandler
from daemon.queue.kinds.caption import CaptionHandler
from daemon.queue.kinds.generate import GenerateHandler
from daemon.queue.kinds.train import TrainHandler

HANDLERS: dict[JobKind, KindHandler] = {
    JobKind.train: TrainHandler(),
    JobKind.caption: CaptionHandler(),
    JobKind.generate: GenerateHandler(),
}


def handler_of(kind: str) -> KindHandler:
    """The handler of a job's kind."""
    return HANDLERS[JobKind(kind)]
