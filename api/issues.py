"""The issue dashboard's numbers as JSON: ``GET /api/v1/issues/dashboard/stats`` (seed 002's path)
and ``GET /api/v1/stats/dashboard`` (seed 003's), the same for both.

For the caller as the pages see them: the counts are of the issues they may see (a reporter's
own; a maintainer's or admin's all). The daily statistics of all issues (``open_over_time``) are
returned only to callers who see every issue and may view issue statistics; others get null.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.auth import api_actor
from api.errors import responses
from api.schemas import MAX_INT
from models import db
from models.accounts import Actor
from models.issues import Issues
from models.permissions import require
from reports.issue_stats import IssueFilters, dashboard_stats

BASE = '/api/v1'
Caller = Annotated[Actor, Depends(api_actor)]
SeverityName = Literal['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']


class Count(BaseModel):
    key: str = Field(description='The status or severity as the list filters write it')
    label: str
    count: int


class DailyStats(BaseModel):
    date: dt.date
    total: int
    open: int
    triaged: int
    in_progress: int
    done: int
    low: int
    medium: int
    high: int
    critical: int
    unresolved: int = Field(description='open + triaged + in_progress')


class DashboardStats(BaseModel):
    start: dt.date = Field(description='First day of the created-at range (local time)')
    end: dt.date = Field(description='Last day of the created-at range, included')
    severities: list[SeverityName] = Field(description='The severities counted (all when empty)')
    assignee_ids: list[int] = Field(description='The assignees counted (all when empty)')
    total: int = Field(description='Issues created in the range')
    unresolved: int = Field(description='Of those, not done')
    critical_unresolved: int
    resolved: int = Field(description='Issues resolved in the range, whenever created')
    mean_hours_to_resolve: float | None = Field(description='Their mean hours from created to resolved')
    by_status: list[Count]
    by_severity: list[Count]
    open_over_time: list[DailyStats] | None = Field(
        description='The daily statistics of all issues in the range (not narrowed by severity or assignee); '
        'null unless the caller sees every issue and may view issue statistics'
    )


From = Annotated[dt.date | None, Query(alias='from', description='Created on or after (default: 90 days ago)')]
To = Annotated[dt.date | None, Query(alias='to', description='Created on or before (default: today)')]
Severities = Annotated[list[SeverityName] | None, Query(description='Only these severities (repeat the parameter)')]
UserId = Annotated[int, Field(ge=1, le=MAX_INT)]
Assignees = Annotated[list[UserId] | None, Query(description='Only issues assigned to these users (repeat)')]


def stats(
    actor: Caller,
    date_from: From = None,
    date_to: To = None,
    severity: Severities = None,
    assignee_id: Assignees = None,
) -> Any:
    filters = IssueFilters.of(date_from, date_to, severity or (), assignee_id or ())
    with db.session() as s:
        require(s, actor, Issues, 'view')
        return dashboard_stats(s, actor, filters)


def router() -> APIRouter:
    r = APIRouter(prefix=BASE)
    for path, name in [('/issues/dashboard/stats', 'issue_dashboard_stats'), ('/stats/dashboard', 'stats_dashboard')]:
        r.add_api_route(
            path,
            stats,
            methods=['GET'],
            response_model=DashboardStats,
            tags=[Issues.label_plural],
            operation_id=name,
            summary='Issue dashboard statistics',
            responses=responses(401, 403, 422),
        )
    return r
