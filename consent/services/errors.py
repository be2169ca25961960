"""ConsentError: a consent action that cannot be done (a ServiceError)."""

from chatbot_site.lib.errors import ServiceError


class ConsentError(ServiceError):
    """A consent action that cannot be done; `message` is shown to the person who tried.

    `code` is stable for the API ("notice_outdated", "opt_in_required", ...);
    `extra` holds ids and versions only, never personal data.
    """

    code = "consent_refused"
