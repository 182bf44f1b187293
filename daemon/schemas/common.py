"""What every wire shape shares: request and answer bases, ids, keys, points."""

from pydantic import BaseModel, ConfigDict, Field

KEY = Field(min_length=1, max_length=150, description="Repeat it to repeat the request safely.")
MAX_ID = 2**63 - 1  # BIGINT: larger ids cannot exist, and would overflow the driver
MAX_POINTS = 10**12
# JSON body numbers are strict: `true`, `"5"` and `5.0` are not an id, an amount or a count.
# (Query strings are text by nature; their models convert.)
BODY_ID = Field(strict=True, ge=1, le=MAX_ID)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Answer(BaseModel):
    """A response body; `model_validate(row)` reads a row's attributes of the same names."""

    model_config = ConfigDict(from_attributes=True)
