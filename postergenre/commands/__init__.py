"""The CLI's subcommands, one module each (``postergenre <command>``; cli.py dispatches to them).

May import anything of the package; heavy modules are imported inside run() so --help stays fast."""
