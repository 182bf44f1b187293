"""Where the web dashboard lives: its URL prefix, cookies and the sign-in link's path."""

UI_PREFIX = "/ui/"
STATIC_PREFIX = "/ui/static/"
API_PREFIX = "/ui/api/"
SESSION_COOKIE = "lorabot_session"
# Before a session exists (a sign-in form), CSRF is a double-submit cookie: the form carries
# the same random value the cookie does, which another site can neither read nor set.
FORM_COOKIE = "lorabot_form"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
HOME = "/ui/datasets"
OPERATOR_HOME = "/ui/operator/jobs"


def sign_in_path(token: str) -> str:
    """The path of a one-time sign-in link."""
    return f"/ui/sign-in/{token}"
