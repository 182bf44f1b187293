"""`ActivityCalls`: the activity feed's routes the bots use, mixed into `DaemonClient`."""

from bots.common.schemas import Actor
from bots.common.transport import Transport
from daemon.schemas import ActivityPage, ReadAllOut


class ActivityCalls(Transport):
    """The acting person's activity: its newest page, and marking it all read."""

    async def activity(self, actor: Actor, limit: int = 10) -> ActivityPage:
        """The person's newest activity items, with the unread count of all of them."""
        return await self._get("/v1/activity", actor, ActivityPage, limit=limit)

    async def mark_all_activity_read(self, actor: Actor) -> ReadAllOut:
        """Mark every item read; how many were marked, and how many stay unread."""
        path = "/v1/activity/read-all"
        return await self._send("POST", path, actor, ReadAllOut, repeatable=True)
