"""The WSGI application: Django's, behind ``read_chunked_body``.

A request body sent with ``Transfer-Encoding: chunked`` has no ``Content-Length``;
gunicorn de-chunks it into ``wsgi.input``, but Django reads a body only up to
``CONTENT_LENGTH`` (0 when missing), so every dialect took such a body as empty and
acted on that (a blank customer created, a PATCH that changed nothing). The wrapper
reads that body first, at most one byte past the body limit
(``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``core.parsers.max_body_bytes``), and hands Django
what it read with its length: a body within the limit is read as if its length had
been declared, and a longer one declares a length over the limit, which is refused
as a larger ``Content-Length`` is (413 in the calling dialect's body), unread past
the limit.
"""

import io
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def read_chunked_body(app):
    def application(environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            from core.parsers import max_body_bytes

            limit = max_body_bytes()
            stream = environ["wsgi.input"]
            body = stream.read() if limit is None else stream.read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return application


application = read_chunked_body(get_wsgi_application())
