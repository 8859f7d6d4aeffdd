"""PDF output built with reportlab: item labels, label sheets, route sheets and reports.

Pure: takes plain dataclasses, returns PDF bytes. No Flask, no database, no mailroom imports.
"""
