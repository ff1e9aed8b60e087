"""NiceGUI pages. Importing this package registers every route."""

from pages import nicegui_patch

nicegui_patch.install()

import pages.dashboard  # noqa: E402, F401
from pages import admin, auth, board, detail, files, home, notifications, records  # noqa: E402, F401
