"""Renderers: turn a finished context into document bytes (DOCX via docxtpl, PDF via reportlab)."""
