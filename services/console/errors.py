"""What can go wrong in the console; each renders as a page with its status.

ConsoleError (shared ApiError)
├── SignInRefused       401  the key is not a valid secret key
├── SignInRequired      401  no session, or it expired: sign in again
├── CsrfRefused         403  a form came without its token, or from another site
├── PageNotFound        404  no such account, message or share link for this tenant
└── ServicesUnavailable 503  a service the page reads did not answer
"""

from __future__ import annotations

from shared.errors import Forbidden, NotFound, ServiceUnavailable, Unauthorized


class SignInRefused(Unauthorized):
    default_code = "sign_in_refused"


class SignInRequired(Unauthorized):
    default_code = "sign_in_required"


class CsrfRefused(Forbidden):
    default_code = "csrf_refused"


class PageNotFound(NotFound):
    default_code = "page_not_found"


class ServicesUnavailable(ServiceUnavailable):
    default_code = "services_unavailable"
