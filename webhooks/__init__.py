"""At-least-once webhook delivery of stored submissions."""
