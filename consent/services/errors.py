class ConsentError(ValueError):
    """A consent action that cannot be done; `message` is shown to the person who tried.

    `code` is stable for the API ("notice_outdated", "opt_in_required", ...);
    `extra` holds ids and versions only, never personal data.
    """

    def __init__(self, message: str, *, code: str, status: int = 400, **extra) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.extra = extra
