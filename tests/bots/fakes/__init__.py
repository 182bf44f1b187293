"""Fake Telegram Bot API and Discord REST + gateway servers on 127.0.0.1, real wire formats."""
