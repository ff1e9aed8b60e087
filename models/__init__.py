"""Data and rules: the engine core and one module per record type.

Importing `models` registers every record type, so the registry is complete.
"""

from models import (  # noqa: F401
    accounts,
    apikeys,
    appstate,
    attachments,
    audit,
    changes,
    comments,
    hiccups,
    issues,
    lookups,
    notifications,
    permissions,
    views,
)
