"""Command-line subcommands (``harpdaal.__main__`` lists them). Each module here defines
``add_parser(subparsers)``.

A command module imports its estimator package inside ``run()``: building the parser imports
every command module, and neither ``harpdaal info`` nor a ``--ranks`` relaunching parent should
pay for scikit-learn.
"""
