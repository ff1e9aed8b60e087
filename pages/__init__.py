"""NiceGUI pages. Importing this package registers every route (order matters: fixed paths
such as /r/{slug}/board come before /r/{slug}/{record_id})."""

from pages import admin, auth, board, files, home, records  # noqa: F401  (board before detail)
from pages import detail  # noqa: F401, I001
