"""The widgets of the live view: tree, details pane, status bar, change feed, banner."""
