"""lorabot's domain: free of chat and HTTP frameworks."""
