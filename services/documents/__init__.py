"""Documents people read: HTML from templates and the same content as PDF for post."""
