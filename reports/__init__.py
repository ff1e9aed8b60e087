"""Reports: queries turned into spreadsheets, figures and digests; Excel import of lookup tables.

Nothing here talks to the browser: pages and tasks call these functions (off the event loop
for anything slow) and hand the files on.
"""
