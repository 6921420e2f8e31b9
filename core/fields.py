"""Model fields shared by every app."""

from django.db import models

from core import flake


class FlakeIdField(models.BigIntegerField):
    """A BIGINT primary key filled with a time-ordered flake ID."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("default", flake.next_id)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        path = "core.fields.FlakeIdField"
        for key, value in (
            ("primary_key", True),
            ("default", flake.next_id),
            ("editable", False),
        ):
            if kwargs.get(key) == value:
                kwargs.pop(key)
        return name, path, args, kwargs
