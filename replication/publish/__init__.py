"""Papermill execution of the chapter notebooks, and the book."""
