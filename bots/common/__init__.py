"""Front-end-neutral parts of the bots: the RPC client, conversation flows and texts."""
