"""`lineside` command line: every command, one module each in this package (main.COMMANDS)."""
