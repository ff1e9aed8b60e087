"""NiceGUI pages. Importing this package registers every route."""

from pages import admin, auth, board, detail, files, home, records  # noqa: F401
