"""Admin change forms as a browser submits them, for the stale-save tests.

``open_form`` reads the change page and returns what submitting it unchanged
would post (every input, the hidden initial values included); a test edits a
field or two and posts it back later, after someone else changed the row.
``post_while_held`` posts it while a second connection holds an uncommitted
change of the row (a delete, an update), which it commits once the admin's save
waits for it: the interleaving where the row changes between the admin's read and
its write.
"""

from __future__ import annotations

from html.parser import HTMLParser

from django.db.models import Model
from django.test import Client
from django.urls import reverse

from tests.interleave import Holder, start, wait_for_waiters

FormData = dict[str, list[str]]


class _FormParser(HTMLParser):
    """The fields of the page's model form (``<form id="<model>_form">``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: FormData = {}
        self.in_form = False
        self.select: str | None = None
        self.option: str | None = None
        self.option_selected = False
        self.textarea: str | None = None
        self.text: list[str] = []

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs) -> None:
        attr = {key: value if value is not None else "" for key, value in attrs}
        if tag == "form":
            form_id = attr.get("id", "")
            self.in_form = form_id.endswith("_form") and form_id != "logout-form"
            return
        if not self.in_form or ("name" not in attr and tag != "option"):
            return
        if tag == "input":
            kind = attr.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attr:
                return
            self._add(
                attr["name"], attr.get("value", "on" if kind == "checkbox" else "")
            )
        elif tag == "select":
            self.select = attr["name"]
            self.data.setdefault(self.select, [])
        elif tag == "option" and self.select is not None:
            self.option = attr.get("value")
            self.option_selected = "selected" in attr
            self.text = []
        elif tag == "textarea":
            self.textarea = attr["name"]
            self.text = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "option" and self.select is not None:
            if self.option_selected:
                value = self.option if self.option is not None else "".join(self.text)
                self._add(self.select, value)
            self.option = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # The browser drops the newline that follows <textarea>.
            self._add(self.textarea, "".join(self.text).removeprefix("\n"))
            self.textarea = None


def open_form(client: Client, url: str) -> FormData:
    """What the change page at ``url`` submits when staff change nothing."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    parser = _FormParser()
    parser.feed(response.content.decode())
    assert parser.data, "no model form on the page"
    return parser.data


def edit(form: FormData, **values: str) -> FormData:
    """``form`` with staff's edits (the visible fields only)."""
    return {**form, **{name: [value] for name, value in values.items()}}


def post_while_held(client: Client, url: str, form: FormData, sql: str, params):
    """Post ``form`` while another connection has run ``sql`` (uncommitted); the
    change is committed once the admin's save waits for it. The response."""
    with Holder() as holder:
        holder.run(sql, params)
        saving = start(lambda: client.post(url, form))
        wait_for_waiters(1)
        holder.commit()
    return saving()


def messages_after(client: Client, response) -> str:
    """The page the response redirects to (with its messages), as text."""
    assert response.status_code == 302, response.status_code
    return client.get(response.url).content.decode()


def change_url(model: type[Model], pk: object) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])


def save_after(client: Client, url: str, change, **edits: str):
    """Open the change page, let ``change()`` run in another thread (its own
    connection) and commit, then post staff's ``edits`` of the page as it was
    shown. The response (a redirect: saved)."""
    page = open_form(client, url)
    start(change)()
    response = client.post(url, edit(page, **edits))
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def save_while_deleted(client: Client, model: type[Model], pk: object, **edits):
    """Staff post ``edits`` of the change page while another connection deletes
    the row, and commits once the save waits for it: the row is not saved again,
    and staff land on the list with a message that nothing was saved."""
    meta = model._meta
    url = change_url(model, pk)
    response = post_while_held(
        client,
        url,
        edit(open_form(client, url), **edits),
        f"DELETE FROM {meta.db_table} WHERE id = %s",
        [pk],
    )
    assert not model._base_manager.filter(pk=pk).exists()  # not saved again
    assert response.url == reverse(
        f"admin:{meta.app_label}_{meta.model_name}_changelist"
    )
    assert (
        f"The {meta.verbose_name} with ID “{pk}” was deleted by someone else while "
        "the page was open: your changes were not saved."
    ) in messages_after(client, response)
