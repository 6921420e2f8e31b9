"""Admin change forms that write through the services, never a stale copy.

Django's admin builds an instance from the form and saves all of it: every field as
the page showed it, so what someone else changed since the page was shown (an API
PATCH, a counter moved by a redemption) is written back as it was, and a row deleted
meanwhile is found by nothing to UPDATE and INSERTed again (DESIGN.md: an update
never saves a stale instance). An admin with ``ServiceWritesMixin``:

- renders each field of a change form with its value as shown (Django's
  ``show_hidden_initial``), so ``form.changed_data`` names exactly the fields staff
  edited, compared with what they saw rather than with the row as it is at the
  POST;
- writes in ``save_model`` through a service that locks the row as it is now and
  writes only those fields (``core.rows``), so concurrent changes of other fields
  stay;
- answers a ``DomainError`` of that service (or of a delete) without a 500: a row
  deleted meanwhile sends staff to the list with a message saying nothing was
  saved; any other refusal (a code taken meanwhile, a cap below what was issued
  meanwhile) shows the form again, with their input and the refusal on the field it
  names. Nothing of a refused save is kept (the admin's transaction is rolled back).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.urls import reverse

from core.errors import DomainError

_REFUSED = "_couponhub_admin_refused"


def _form_field(path: str, fields: dict[str, Any]) -> str | None:
    """The form field a service's field path names (``usable_by_customer_id`` is
    the form's ``usable_by_customer``, ``validation_rules.0`` its
    ``validation_rules``), or None."""
    head = path.split(".")[0]
    for name in (path, head, head.removesuffix("_id")):
        if name in fields:
            return name
    return None


def _refusing(form_class: type, refused: DomainError) -> type:
    """``form_class`` that also reports ``refused`` (on its fields, else the form)."""

    class Refused(form_class):
        def clean(self):
            cleaned = super().clean()
            placed = False
            for issue in refused.fields or []:
                name = _form_field(issue.path, self.fields)
                if name is not None:
                    self.add_error(name, issue.message)
                    placed = True
            if not placed:
                self.add_error(None, refused.message)
            return cleaned

    Refused.__name__ = form_class.__name__
    return Refused


def edited(form, change: bool) -> dict[str, Any]:
    """What staff entered: on a change, the fields they edited (compared with the
    page they saw); on an add, every field."""
    names = form.changed_data if change else list(form.cleaned_data)
    return {
        name: form.cleaned_data[name] for name in names if name in form.cleaned_data
    }


class ServiceWritesMixin:
    """See the module docstring. The admin's ``save_model`` (and ``delete_model``)
    call the services; this mixin makes ``changed_data`` mean "edited by staff" and
    turns their refusals into messages."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refused = getattr(request, _REFUSED, None)
        if refused is not None:
            form = _refusing(form, refused)
        if obj is not None:
            for field in form.base_fields.values():
                field.show_hidden_initial = True
        return form

    def _gone(self, request, object_id: str | None) -> bool:
        return (
            object_id is not None
            and self.get_object(request, unquote(object_id)) is None
        )

    def _gone_redirect(self, request, object_id: str, what: str):
        meta = self.opts
        self.message_user(
            request,
            f"The {meta.verbose_name} with ID “{object_id}” was deleted by someone "
            f"else while the page was open: {what}",
            messages.ERROR,
        )
        return HttpResponseRedirect(
            reverse(
                f"admin:{meta.app_label}_{meta.model_name}_changelist",
                current_app=self.admin_site.name,
            )
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refused:
            if request.method != "POST" or hasattr(request, _REFUSED):
                raise
            if self._gone(request, object_id):
                return self._gone_redirect(
                    request, object_id, "your changes were not saved."
                )
            # Again, with the refusal on the form (and the staff's input kept).
            setattr(request, _REFUSED, refused)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as refused:
            if self._gone(request, object_id):
                return self._gone_redirect(request, object_id, "nothing to delete.")
            self.message_user(
                request, f"Nothing was deleted: {refused.message}", messages.ERROR
            )
            meta = self.opts
            return HttpResponseRedirect(
                reverse(
                    f"admin:{meta.app_label}_{meta.model_name}_change",
                    args=[object_id],
                    current_app=self.admin_site.name,
                )
            )
