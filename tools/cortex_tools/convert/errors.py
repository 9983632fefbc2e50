"""The one error of a conversion: a line that names the problem and what avoids it."""


class ConvertError(Exception):
    """What stops a conversion; DEST is untouched when it is raised."""

    def __init__(self, line: str, details: list[str] | None = None) -> None:
        super().__init__(line)
        self.line = line
        self.details = details or []
