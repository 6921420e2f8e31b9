"""Writes shared by the paths that make assignments (receive: ``assignments.receive``;
issue: ``series.issue``)."""

from __future__ import annotations

from collections.abc import Sequence

from assignments.models import Assignment
from audit import services as audit
from audit.models import AuditEvent
from core.actors import Actor


def assignment_events(
    assignments: Sequence[Assignment],
    *,
    action: str,
    changes: dict,
    actor: Actor,
) -> list[AuditEvent]:
    """The audit events of new assignments made by ``actor`` (unsaved: the caller
    writes them with the assignments, ``core.sql.write``)."""
    return [
        audit.event_of(
            assignment,
            object_type="assignment",
            action=action,
            series_id=assignment.series_id,
            changes=changes,
            actor=actor,
        )
        for assignment in assignments
    ]
