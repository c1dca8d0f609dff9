"""The live terminal UI (``stateview FILE``) and ``stateview demo``.

Only this package imports Textual, and only from its app, widget and screen modules. The plain
modules here (``_diff``, ``_watch``, ``_load``, ``_model``, ``_schemainfo``, ``_edit_commit``,
``_patch``, ``_cas``, ``_merge``, ``_valuetext``, ``_writable``, ``_offer``, ``_demo_writer``)
import nothing heavy, so the demo's writer process and the tests
of those pieces never pay Textual's import time.
"""
