"""Command-line subcommands. Each module here defines ``add_parser(subparsers)``."""
COMMANDS = ("info", "demo", "kmeans", "mf", "lda", "als", "bench")
