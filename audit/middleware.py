"""Staff in the admin act as themselves in the audit trail."""

from __future__ import annotations

from audit.context import reset_actor, set_actor
from core.actors import Actor


class AdminActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        token = set_actor(Actor.user(user))
        try:
            return self.get_response(request)
        finally:
            reset_actor(token)
