"""The payload of a prediction, read by Content-Type as Cortex 0.17 reads it (contract
section 2): ``application/json`` -> parsed JSON, ``multipart/form...`` or
``application/x-www-form-urlencoded`` -> Starlette ``FormData``, anything else -> the raw
bytes (so no Content-Type is refused: a predictor may want bytes).

Unlike Cortex, every read is bounded (``Limits``): the body's size, the time it takes to
arrive; and whatever the client gets wrong (JSON, a form) is a 4xx ``ClientError``.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from cortex_tools import TOOLS_PYTHON
from cortex_tools.runtime.client_errors import ClientError
from cortex_tools.runtime.json_payload import JsonParser, MalformedPayload
from cortex_tools.runtime.limits import Limits
from cortex_tools.runtime.request_body import Deadlines, LimitedReceive, check_declared_length

FORM_TYPES = ("multipart/form", "application/x-www-form-urlencoded")
FORM_INSTEAD = (
    "send multipart/form-data with its boundary, or application/x-www-form-urlencoded, "
    "or JSON with Content-Type: application/json"
)


class PayloadReader:
    """Reads one worker's payloads within ``limits``; JSON goes to ``json_parser``."""

    def __init__(self, limits: Limits, json_parser: JsonParser) -> None:
        self.limits = limits
        self.json_parser = json_parser
        self.deadlines = Deadlines(limits.body_timeout)

    def bounded(self, request: Request) -> Request:
        """The same request, its body readable only up to the size limit."""
        receive = LimitedReceive(request.receive, self.limits.max_body_size)
        return Request(request.scope, receive)

    async def read(self, request: Request) -> Any:
        """The payload of a ``bounded`` request. Raises ``ClientError``."""
        content_type = request.headers.get("content-type", "").lower()
        check_declared_length(request.headers, self.limits.max_body_size)
        try:
            if content_type.startswith(FORM_TYPES):
                return await self.deadlines.run(self._form(request))
            body = await self.deadlines.run(request.body())
        except ClientDisconnect:  # nobody will read the answer; the access log will
            raise ClientError("the client disconnected before sending the whole payload") from None
        if content_type.startswith("application/json"):
            return await self.json_parser.parse(body)
        return body

    async def _form(self, request: Request) -> FormData:
        try:
            # One size limit, the body's: Starlette's own 1 MiB per field is not Cortex's
            # (its Starlette 0.13 had none). Its 1000 fields / 1000 files stay: each costs
            # far more memory than its bytes.
            return await request.form(max_part_size=self.limits.max_body_size)
        except (ClientError, ClientDisconnect):
            raise
        except AssertionError as e:  # Starlette's way of saying python-multipart is missing
            raise RuntimeError(f"{e} (Cortex's image has it: {TOOLS_PYTHON} -m pip install "
                               "-r requirements-dev.txt)") from e
        except HTTPException as e:  # Starlette's words for what the multipart parser found
            detail = str(e.detail).rstrip(".")
            raise MalformedPayload(f"malformed form payload: {detail}; {FORM_INSTEAD}") from None
        except Exception as e:  # anything else the form parsers raise is about the bytes sent
            raise MalformedPayload(
                f"malformed form payload ({type(e).__name__}: {e}); {FORM_INSTEAD}"
            ) from None
