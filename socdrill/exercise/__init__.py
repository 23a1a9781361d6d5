"""Exercise control: planning, lifecycle, clock, inject firing, the event journal.

Plain functions over the database; the web routes and the CLI both call them, so a
stop works the same from the browser, the API and the command line.
"""
