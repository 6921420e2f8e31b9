"""Who acts: the one value every service takes to record who made a change.

An ``Actor`` says who (an API key, a staff user, the system), through which channel
(the dialect of a request, ``admin``, ``command``) and, for an API key, which key, so a
service can stamp ``created_by``/``updated_by``, write the audit trail and find the
key's outlet without a second parameter for each. The edges build it once: a dialect
view from its authenticated key, the admin from ``request.user``, a command or job as
``SYSTEM`` (or the staff user who started the job).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


# Channels that are one vendor's older API family, by that vendor's name.
VENDOR_OF_CHANNEL = {"capillary_v11": "capillary"}


class ActorType(models.TextChoices):
    API_KEY = "api_key", "API key"
    USER = "user", "Staff user"
    INTERNAL = "internal", "Internal"
    ANONYMOUS = "anonymous", "Anonymous"


@dataclass(frozen=True)
class Actor:
    """Who acts (``type``, ``id``), through which ``channel``, with which ``key``.

    ``key`` is the ``stores.ApiKey`` of an API call (typed loosely: core imports no
    app), ``label`` what the audit trail shows for a user or the system.
    """

    type: str
    id: int | None = None
    channel: str = ""
    key: Any = None
    label: str = ""

    @classmethod
    def api_key(cls, key: Any, *, channel: str = "") -> Actor:
        return cls(
            ActorType.API_KEY, key.pk, channel=channel, key=key, label=key.key_id
        )

    @classmethod
    def user(cls, user: AbstractBaseUser, *, channel: str = "admin") -> Actor:
        return cls(ActorType.USER, user.pk, channel=channel, label=user.get_username())

    def via(self, channel: str) -> Actor:
        """The same actor acting through another channel."""
        return replace(self, channel=channel)

    @property
    def vendor(self) -> str:
        """The vendor whose API the channel speaks (what a redemption records as its
        dialect): Capillary's v1.1 endpoints are Capillary's, as its v2 ones are."""
        return VENDOR_OF_CHANNEL.get(self.channel, self.channel)

    @property
    def outlet(self) -> Any:
        """The outlet of the key's till (a key bound to an outlet), else None."""
        return self.key.outlet if self.key is not None else None

    @property
    def outlet_id(self) -> int | None:
        return self.key.outlet_id if self.key is not None else None


SYSTEM = Actor(ActorType.INTERNAL, label="system")
