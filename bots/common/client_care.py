"""`CareCalls`: the contact sheet of a dataset, mixed into `DaemonClient`."""

from bots.common.schemas import Actor
from bots.common.transport import Transport


class CareCalls(Transport):
    """Calls of dataset care beside the dataset routes of `DaemonClient`."""

    async def contact_sheet(self, actor: Actor, dataset_id: int, page: int = 1) -> bytes:
        """The PNG of one page of the dataset's numbered thumbnails."""
        path = f"/v1/datasets/{dataset_id}/contact-sheet"
        _, body = await self._call("GET", path, actor, params={"page": page}, raw=True)
        return body
