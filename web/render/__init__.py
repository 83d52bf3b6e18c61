"""Resolved forms into HTML and JSON: compiled pages, theme, languages, versioned scripts."""
