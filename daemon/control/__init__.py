"""Control: the Unix socket, the JSON API behind it, and the `posterm` CLI."""
