"""HTTP surfaces: one blueprint each for the JSON API, HTML forms, admin and widget."""
