"""The training queue: dispatcher, lease reaping, periodic upkeep, wired into the app."""
