"""The ``vbfem`` command line. Each subcommand is a module with ``add_args(parser)`` and ``run(args)``.

Exit codes: 0 success, 1 a case failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

from . import demo, export, info, mesh, run, sweep, validate

COMMANDS = {"demo": demo, "run": run, "sweep": sweep, "mesh": mesh, "export": export, "validate": validate, "info": info}


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="vbfem",
        description="Finite-element models of vertebral compression fractures and cement augmentation.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only print results and errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress of every stage")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_args(p)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    # library progress is logged at INFO: shown with --verbose only, so the default output is the table
    level = logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command].run(args)
    except np.linalg.LinAlgError as exc:  # a numerical failure, not bad input (it is a ValueError)
        print(f"vbfem {args.command}: failed: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, KeyError, ImportError, OSError) as exc:
        # bad input: invalid values, missing or unwritable files and folders, a missing optional package
        print(f"vbfem {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"vbfem {args.command}: failed: {exc}", file=sys.stderr)
        return 1

if __name__ == "__main__":
    sys.exit(main())
