"""Optional integrations, each a small subscriber of the public signals."""
