"""The ``vbfem`` command line. Each subcommand is a module with ``add_args(parser)`` and ``run(args)``.

Exit codes: 0 success, 1 a case failed, 2 bad input, 130 interrupted (Ctrl-C, SIGINT), 143 terminated
(SIGTERM). An interrupted command stops its worker processes and removes its staging folders; the files
it had finished stay.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading

import numpy as np

from . import demo, export, info, mesh, plan, run, sweep, validate


class Terminated(BaseException):
    """SIGTERM arrived (raised by :func:`main`'s handler, so that cleanups run as for Ctrl-C).

    A ``BaseException``, like ``KeyboardInterrupt``: ``except Exception`` in library code does not swallow it.
    """


#: Exit codes of an interrupted command (128 + the signal number, as a shell reports it).
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


def _stop_children():
    """Terminate this process's multiprocessing children (strength curves, sweep cases): they would
    otherwise run to their end while the main process waits for them."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.terminate()


def _on_signal(signum, frame):
    _stop_children()
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def _signal_handlers():
    """SIGINT and SIGTERM raise in the main thread (KeyboardInterrupt, :class:`Terminated`) after stopping
    the worker processes; the previous handlers come back afterwards. Off the main thread (a test calling
    :func:`main` from a thread), nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


COMMANDS = {"demo": demo, "run": run, "sweep": sweep, "plan": plan, "mesh": mesh, "export": export, "validate": validate, "info": info}


def _missing_package(exc: ImportError) -> bool:
    """True if ``exc`` says a package outside vbfem is not installed (exit 2, the user's to fix);
    False if a module or name of vbfem itself cannot be imported (exit 1, a broken installation)."""
    name = exc.name or ""  # vbfem's own "needs package X" errors set ``name`` to X as well
    return bool(name) and name.split(".")[0] != "vbfem"


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
        with _signal_handlers():
            from .common import apply_memory_arg

            apply_memory_arg(args)
            return COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        print(f"vbfem {args.command}: interrupted; files already finished are kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"vbfem {args.command}: terminated (SIGTERM); files already finished are kept", file=sys.stderr)
        return EXIT_TERMINATED
    except np.linalg.LinAlgError as exc:  # a numerical failure, not bad input (it is a ValueError)
        print(f"vbfem {args.command}: failed: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        if _missing_package(exc):  # an optional package the command needs: the user installs it
            print(f"vbfem {args.command}: error: {exc}", file=sys.stderr)
            return 2
        # a part of vbfem itself cannot be imported: a broken installation, not bad input
        print(f"vbfem {args.command}: failed: {exc} (a broken vbfem installation? reinstall it)", file=sys.stderr)
        return 1
    except (ValueError, TypeError, KeyError, OSError) as exc:
        # bad input: invalid values, missing or unwritable files and folders
        print(f"vbfem {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"vbfem {args.command}: failed: {exc}", file=sys.stderr)
        return 1

if __name__ == "__main__":
    sys.exit(main())
