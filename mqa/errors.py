"""The base of every error mqa raises for a problem its user can fix.

:class:`MqaError` is a ``ValueError`` whose message names what is wrong and
how to fix it (the table, column and rows of bad data; the section and key of
a bad configuration; the path of a refused output). The command line prints
such a message and exits with status 2, without a traceback; a notebook can
catch them all with ``except mqa.MqaError``. This module imports nothing, so
the command line can catch them before any heavy library is loaded.
"""

from __future__ import annotations


class MqaError(ValueError):
    """A problem the user can fix; the message says what and how."""
