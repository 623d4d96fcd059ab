"""``harpdaal demo [--ranks N]``: the collectives and dispatched kernels, self-checking."""


def add_parser(sub):
    p = sub.add_parser("demo", help="exercise the collectives and dispatched kernels (self-checking)")
    p.add_argument("--ranks", type=int, default=1,
                   help="number of MPI ranks (> 1 launches itself under mpiexec)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..demo import run_demo  # imports every estimator: not for the parser

    return run_demo(ranks=args.ranks)
