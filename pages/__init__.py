"""NiceGUI pages. Importing this package registers every route."""

import pages.dashboard  # noqa: F401
from pages import admin, auth, board, detail, files, home, notifications, records  # noqa: F401
