"""Uploads: the multipart stream read part by part (``multipart``), a file
received into storage under its limits (``receive``), the uploads a submission
names checked and claimed (``claims``), and signed links to the files (``links``)."""
