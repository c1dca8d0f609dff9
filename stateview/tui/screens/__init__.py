"""Modal screens: help, one-line prompts, confirmation, the recovery plan."""
