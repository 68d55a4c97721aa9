"""Hub analytics: closure statistics, rankings, shares, trends and camera online rates.

Every query is portable SQLAlchemy (SQLite and PostgreSQL), scoped by :class:`Scope`, and takes
``now`` explicitly so results are reproducible.
"""

from cloud_api.analytics.cases import CasePage, CaseRow, list_cases
from cloud_api.analytics.online import SchoolOnline, camera_online_rates
from cloud_api.analytics.periods import Period, PeriodError
from cloud_api.analytics.rankings import SchoolRank, rank_schools
from cloud_api.analytics.rollup import rebuild_rollup, refresh_rollup, rollup_counts, rollup_is_fresh
from cloud_api.analytics.scope import Scope, ScopeDenied
from cloud_api.analytics.stats import GroupStats, closure_table, overall, percent
from cloud_api.analytics.trends import TrendPoint, trend

__all__ = [
    "CasePage",
    "CaseRow",
    "GroupStats",
    "Period",
    "PeriodError",
    "SchoolOnline",
    "SchoolRank",
    "Scope",
    "ScopeDenied",
    "TrendPoint",
    "camera_online_rates",
    "closure_table",
    "list_cases",
    "overall",
    "percent",
    "rank_schools",
    "rebuild_rollup",
    "refresh_rollup",
    "rollup_counts",
    "rollup_is_fresh",
    "trend",
]
