"""Server-side code the Triton Python models delegate to. Never imports the client, store or CLI."""
