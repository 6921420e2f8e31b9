"""Shared admin pieces: store-scoped staff, the store filter, related-row pages.

Store scoping: a superuser sees every store. Any other staff user sees only the
stores they are linked to (``settings.STORE_MEMBERSHIP_MODEL``, the stores app's
``StoreMembership``): every change list, change form, foreign-key choice,
autocomplete (it reads the target admin's ``get_queryset``), action and export of a
``StoreScopedMixin`` admin goes through ``get_queryset``/``formfield_for_foreignkey``
below, so another store's rows are never listed, offered, opened (404) or acted on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.paginator import CappedCountPaginator

_CACHE_ATTR = "_couponhub_store_ids"


def allowed_store_ids(request: HttpRequest) -> frozenset[int] | None:
    """The ids of the stores the request's user may see; None means every store."""
    user = request.user
    if user.is_superuser:
        return None
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is None:
        memberships = _model("STORE_MEMBERSHIP_MODEL").objects
        cached = frozenset(
            memberships.filter(user_id=user.pk)
            .order_by()
            .values_list("store_id", flat=True)
        )
        setattr(request, _CACHE_ATTR, cached)
    return cached


def scope_to_stores(
    queryset: QuerySet, request: HttpRequest, store_path: str = "store"
) -> QuerySet:
    """``queryset`` limited to the user's stores (``store_path`` leads to the store)."""
    ids = allowed_store_ids(request)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{store_path}__in": ids})


def _model(setting: str) -> type[Model]:
    """A model of the store tenancy, named by a setting (``STORE_MODEL``,
    ``STORE_MEMBERSHIP_MODEL``) as ``AUTH_USER_MODEL`` names the user: core imports
    no app."""
    return apps.get_model(getattr(settings, setting))


def _store_path_of(model) -> str | None:
    if model is _model("STORE_MODEL"):
        return "pk"
    names = {field.name for field in model._meta.get_fields()}
    return "store" if "store" in names else None


class StoreListFilter(admin.RelatedFieldListFilter):
    """The "store" filter, offering only the user's stores."""

    def field_choices(self, field, request, model_admin):
        ids = allowed_store_ids(request)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ids is None:
            return field.get_choices(include_blank=False, ordering=ordering)
        return field.get_choices(
            include_blank=False,
            ordering=ordering,
            limit_choices_to={"pk__in": ids},
        )


def values_filter(
    field_name: str, title: str, values: Callable[[], Iterable[tuple[str, str]]]
) -> type[admin.SimpleListFilter]:
    """A list filter of ``field_name`` offering the known ``values()`` (value,
    label). Django's ``AllValuesFieldListFilter`` would find them with a
    ``SELECT DISTINCT`` over the whole table on every page of the list."""

    class ValuesFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            return list(values())

        def queryset(self, request, queryset):
            if self.value() is None:
                return queryset
            return queryset.filter(**{field_name: self.value()})

    ValuesFilter.title = title
    ValuesFilter.__name__ = f"{field_name.title().replace('_', '')}Filter"
    return ValuesFilter


# Django's message for an action without a selection (django.contrib.admin).
NOTHING_SELECTED = (
    "Items must be selected in order to perform actions on them. No items have "
    "been changed."
)


# DRF's refusal of a value above a field's ``max_value``: what the API answers.
ABOVE_CAP = "Ensure this value is less than or equal to {max_value}."


def refuse_above_caps(form, caps: dict[str, int]) -> None:
    """Refuse on ``form`` each value above its cap, in the words the API uses for the
    same cap: staff do not store what the API refuses as too large (README, Amounts:
    2^53-1, ``core.money.MAX_MINOR``, so a JSON client reads it exactly; a count
    Capillary shows, ``core.compact.INT32``). ``caps`` maps a form field's name to
    its largest value; the API's fields are capped by the same constants. Below
    zero is left to the model's constraints."""
    for name, cap in caps.items():
        value = form.cleaned_data.get(name)
        if name in form.fields and value is not None and value > cap:
            form.add_error(name, ABOVE_CAP.format(max_value=cap))


class NulFreeFiltersMixin:
    """A change list parameter holding NUL is refused, never a 500.

    PostgreSQL text cannot hold NUL (a ``DataError``): a filter value such as
    ``?discount_type__exact=%00`` reached the query. It is refused as Django refuses
    a lookup it cannot use (``IncorrectLookupParameters``: a redirect to ``?e=1``),
    with a message naming the parameter. The search (``q``) is left to Django's
    search form, which drops a NUL search with "Null characters are not allowed.";
    an autocomplete's term with NUL finds nothing (``get_search_results``).
    Every admin of the project has it (``StoreScopedMixin`` and the user admins).
    """

    def get_changelist_instance(self, request):
        for name, values in request.GET.lists():
            if name != SEARCH_VAR and any("\x00" in v for v in (name, *values)):
                self.message_user(
                    request,
                    f"Null characters are not allowed (the filter {name!r}).",
                    messages.ERROR,
                )
                raise IncorrectLookupParameters
        return super().get_changelist_instance(request)

    def get_search_results(self, request, queryset, search_term):
        # The change list's search form drops a NUL term before this; an
        # autocomplete's ``term`` comes here as sent: it names nothing.
        if "\x00" in search_term:
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


class StoreScopedMixin(NulFreeFiltersMixin):
    """Limit an admin to the user's stores (see the module docstring).

    ``store_path`` is the lookup from the admin's model to its store ("store", or
    "pk" for the Store admin itself).
    """

    store_path = "store"

    def get_queryset(self, request):
        return scope_to_stores(super().get_queryset(request), request, self.store_path)

    def response_action(self, request, queryset):
        # A selected id that is not one (``_selected_action=abc``, or beyond BIGINT)
        # would be a 500 from ``pk__in``: it selects nothing, and staff get Django's
        # own message.
        primary_key = self.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                primary_key.run_validators(primary_key.to_python(value))
        except ValidationError:
            self.message_user(request, NOTHING_SELECTED, messages.WARNING)
            return None
        return super().response_action(request, queryset)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        ids = allowed_store_ids(request)
        related = db_field.remote_field.model
        path = _store_path_of(related)
        if ids is not None and path is not None and "queryset" not in kwargs:
            kwargs["queryset"] = related._default_manager.filter(**{f"{path}__in": ids})
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


STORE_PARAMETER = "store__id__exact"


def _filter_name(list_filter) -> str:
    if isinstance(list_filter, str):
        return list_filter
    if isinstance(list_filter, tuple | list):
        return list_filter[0]
    return getattr(list_filter, "parameter_name", "")


class BigTableMixin:
    """Change list settings for tables of millions of rows: no full COUNT(*), no
    facet counts, sorted only by the (time-ordered) id.

    The filters other than the store's narrow one store's list: they are offered to
    a user who sees several stores (a superuser, staff of several stores) once a
    store is chosen. Every index of these tables leads with the store (or a column
    of their own, ``indexed_filters``); without a store a filter's rows would be
    looked for among every store's, row by row.
    """

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by: Sequence[str] = ["id"]
    # Filters with an index of their own (their column, then the id).
    indexed_filters: Sequence[str] = ()

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        ids = allowed_store_ids(request)
        if request.GET.get(STORE_PARAMETER) or (ids is not None and len(ids) == 1):
            return filters
        return [
            spec
            for spec in filters
            if _filter_name(spec) in ("store", *self.indexed_filters)
        ]


def related_page(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    key: str,
    title: str,
    columns: Sequence[tuple[str, Any]],
    per_page: int = 10,
    changelist_url: str = "",
) -> dict[str, Any]:
    """One page of a read-only table of related rows, for a change form.

    ``columns`` are (heading, row -> value); the page number comes from the
    ``<key>_page`` query parameter.
    """
    paginator = CappedCountPaginator(queryset, per_page)
    page = paginator.get_page(request.GET.get(f"{key}_page"))
    rows = [[render(row) for _, render in columns] for row in page.object_list]
    return {
        "key": key,
        "title": title,
        "headings": [heading for heading, _ in columns],
        "rows": rows,
        "page": page,
        "capped": paginator.capped,
        "changelist_url": changelist_url,
        "page_param": f"{key}_page",
    }


class RelatedPagesMixin:
    """Read-only, paginated tables of related rows under a change form.

    Subclasses return them from ``related_pages(request, obj)`` (built with
    ``related_page``); each costs two small queries (a capped count and a page).
    """

    change_form_template = "admin/couponhub/change_form.html"

    def related_pages(self, request, obj) -> list[dict[str, Any]]:
        return []

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None and obj.pk is not None:
            context["related_pages"] = self.related_pages(request, obj)
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )


def admin_link(obj, text: Any = None) -> str:
    """A link to ``obj``'s change page ("-" for None)."""
    if obj is None:
        return "-"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if text is None else text)
