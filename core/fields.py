"""Model fields shared by every app."""

from django.db import models
from django.db.models.query_utils import DeferredAttribute

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


class _Folded(DeferredAttribute):
    """The attribute of a ``FoldedField``: folded from the source when the source is
    loaded; the stored value otherwise (a row read without its source)."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        if self.field.source in instance.__dict__:
            return self.field.folded(instance.__dict__[self.field.source])
        return super().__get__(instance, cls)

    def __set__(self, instance, value) -> None:
        instance.__dict__[self.field.attname] = value


class FoldedField(models.CharField):
    """A column holding ``fold(<source field>)``: the one form an identifier typed by
    people (a code, an email) is compared in (DESIGN.md, identifiers). NULL when the
    source is.

    The attribute is always ``fold`` of the instance's source (whatever was assigned
    or loaded), so every write Django makes of the row writes it right: ``save()``,
    ``bulk_create``, ``core.sql.write`` and ``bulk_update``; the models add it to
    ``save(update_fields=...)``, ``bulk_update`` and ``QuerySet.update`` whenever
    these write its source (``folded_writes``). Bulk COPY paths fold it themselves.

    Migrations see a plain ``CharField``: the folding is Python's, not the schema's.
    """

    descriptor_class = _Folded

    def __init__(self, *args, source: str = "", fold=None, **kwargs):
        kwargs.setdefault("editable", False)
        self.source, self.fold = source, fold
        super().__init__(*args, **kwargs)

    def folded(self, value: str | None) -> str | None:
        return None if value is None else self.fold(value)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs


def folded_writes(model: type[models.Model], fields) -> list[str]:
    """``fields`` plus the ``FoldedField`` of every source among them: what a write
    naming its fields (``update_fields``, ``bulk_update``) must also write."""
    fields = list(fields)
    for field in model._meta.concrete_fields:
        if (
            isinstance(field, FoldedField)
            and field.source in fields
            and field.name not in fields
        ):
            fields.append(field.name)
    return fields


def folded_exclusions(model: type[models.Model], exclude) -> set[str] | None:
    """``exclude`` (of ``Model.validate_constraints``) without the ``FoldedField``s
    whose source is validated: a form that edits the email checks the unique index
    on its folded form, though that column is not a form field."""
    if exclude is None:
        return None
    exclude = set(exclude)
    for field in model._meta.concrete_fields:
        if isinstance(field, FoldedField) and field.source not in exclude:
            exclude.discard(field.name)
    return exclude
