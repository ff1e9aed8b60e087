"""Hiccups (lab process interruptions) and non-conformances (NC/CAPA): seed 000 on the engine.

A hiccup is raised by any staff member, answered by its department's HOD, reviewed by
management and then closed (or escalated to a non-conformance); after closure the raiser
says whether they are satisfied, and "not satisfied" reopens it for management.
"""

from models.hiccups import summary  # noqa: F401 - its tables and flush hook
from models.hiccups.rules import (
    FOLLOW_UP_DAYS_KEY,
    department_hod,
    follow_up_days,
    sla_hours,
    user_ids_with_role,
    users_with_role,
)
from models.hiccups.tables import (
    FINAL,
    ActionKind,
    FollowUp,
    Hiccup,
    NcAction,
    NonConformance,
    Phase,
    Severity,
    SlaRule,
)
from models.hiccups.types import Hiccups, NcActions, NonConformances, SlaRules

__all__ = [
    'FINAL',
    'FOLLOW_UP_DAYS_KEY',
    'ActionKind',
    'FollowUp',
    'Hiccup',
    'Hiccups',
    'NcAction',
    'NcActions',
    'NonConformance',
    'NonConformances',
    'Phase',
    'Severity',
    'SlaRule',
    'SlaRules',
    'department_hod',
    'follow_up_days',
    'sla_hours',
    'user_ids_with_role',
    'users_with_role',
]
