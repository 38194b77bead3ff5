"""Qt widgets of the editor (PySide6). Nothing in core/ or sync/ imports from here."""
