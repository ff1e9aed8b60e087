"""Demo data: a lab with departments, people of every role, a year of hiccups and NCs, and of issues.

    python -m tools.demo                      # into an empty database; refuses otherwise
    python -m tools.demo --hiccups 3000 --issues 400 --seed 7 --password 'my-demo-pass'
    python -m tools.demo --reset --force      # wipe every table of the database, then load

The database is the app's own (DATA_DIR or DATABASE_URL, from the environment or `.env`,
as app.py reads them); it is migrated and the roles seeded first. "Empty" means no record of
any type yet, apart from the first administrator that starting the app creates.

Reference data and people go through the engine (`records.create`: validated and audited).
The year of hiccups is simulated in memory and written with a few bulk INSERTs, exactly as
the engine would have left it: HIC-/NC- references from the id and the creation year, the
department's HOD as responder (none for a confidential hiccup: management answer those, as
HODs cannot see them), response and closure due times from the SLA rules
(`models.hiccups.sla_hours`), status, step timestamps and row versions from the steps taken,
follow-up due dates from the admin setting, and one audit row per create, step and action
update, dated when it happened, so every timeline reads right. No notifications are written:
nobody should be messaged about a year that did not happen.

The Issues tracker gets the same treatment (issues.py): tags, two maintainers and four reporters
through the engine (the HODs and a few staff get the reporter role too), a year of issues triaged,
worked, resolved and sometimes reopened, written in bulk with their tags, comments and audit rows,
and `issue_daily_stats` backfilled for every past day from the same steps (today's row by the job's
own `record_daily_stats`), so the Issues dashboard has a year of history.

The parts: lab.py sets up the lab, drafts.py raises its year of hiccups, simulation.py takes
each through its steps (and the NCs escalated from them), issues.py does the Issues tracker,
loader.py writes it all in one transaction, cli.py is the command line; texts.py holds what
everyone writes.
"""

from tools.demo.cli import DEFAULT_HICCUPS, DEFAULT_PASSWORD, DEFAULT_SEED, main, parse_args, report
from tools.demo.drafts import DAYS, Drafter
from tools.demo.issues import (
    DEFAULT_ISSUES,
    ISSUE_WRITES,
    MAINTAINERS,
    REPORTER_DEPARTMENTS,
    Desk,
    IssueSimulation,
    build_desk,
)
from tools.demo.lab import DEPARTMENTS, LOADER, Lab, Person, build_lab
from tools.demo.loader import Result, existing_data, load, wipe
from tools.demo.simulation import WRITES, Simulation
from tools.demo.texts import AUTO_TEMPLATES, ISSUE_TAGS, ISSUE_TEMPLATES, TEMPLATES, IssueTemplate, Template

__all__ = [
    'AUTO_TEMPLATES',
    'DAYS',
    'DEFAULT_HICCUPS',
    'DEFAULT_ISSUES',
    'DEFAULT_PASSWORD',
    'DEFAULT_SEED',
    'DEPARTMENTS',
    'ISSUE_TAGS',
    'ISSUE_TEMPLATES',
    'ISSUE_WRITES',
    'LOADER',
    'MAINTAINERS',
    'REPORTER_DEPARTMENTS',
    'TEMPLATES',
    'WRITES',
    'Desk',
    'Drafter',
    'IssueSimulation',
    'IssueTemplate',
    'Lab',
    'Person',
    'Result',
    'Simulation',
    'Template',
    'build_desk',
    'build_lab',
    'existing_data',
    'load',
    'main',
    'parse_args',
    'report',
    'wipe',
]
