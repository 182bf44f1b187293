"""The chat front-ends: Telegram and Discord bots over the daemon's RPC."""
