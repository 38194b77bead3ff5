"""The ``reeldesk`` command line: the GUI launcher plus scriptable access to a library.

Every change goes through ``Library.apply`` (the single write path), so the CLI, the GUI and sync
see the same gestures. Exit codes: 0 ok, 1 failed (some imports, or an unexpected error: traceback
in the log file), 2 bad input (one ``reeldesk: error: ...`` line on stderr, nothing written).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Sequence

from core.enums import GestureKind
from core.export.local_backend import WORKER_FLAG
from core.gestures.model import Gesture, GestureError
from core.library_dir import default_library_dir
from core.media.errors import MediaError
from core.redact import error_text
from desktop.cli_common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CliError,
    Outcome,
    emit,
    error_line,
    integer,
    number,
    open_library,
    parse_json,
)
from desktop.logging_setup import FILE_ONLY, LoggingSession, setup_logging

if TYPE_CHECKING:  # the command modules and the library load only for a command (not for the window)
    from core.library import Library

log = logging.getLogger(__name__)


# -- parsing helpers ---------------------------------------------------------------------------
def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one ``reeldesk: error:`` line instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


def _window_options(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("--screenshot", type=Path, metavar="FILE.png", default=default,
                   help="save a PNG of the window and exit")
    p.add_argument("--quit-after", type=number, metavar="SECONDS", default=default,
                   help="close the window after SECONDS")
    p.add_argument("--mode", choices=("library", "annotate", "frame", "spotlight", "export"), default=default,
                   help="open in this mode (default: the last one)")
    p.add_argument("--project", metavar="UID", default=default, help="open this project (reel)")


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The ``reeldesk`` parser; without ``commands`` only the global options and ``gui`` (which
    needs none of the command modules: export, sync and tracking take a second to import)."""
    parser = _Parser(prog=PROG, description="ReelDesk: game highlight reels. Without a command, opens the window.")
    parser.add_argument("--library", type=Path, metavar="DIR",
                        help="library folder (default: $REELDESK_HOME or the per-user data folder)")
    # Sub-commands repeat --json/-v with SUPPRESS defaults, so either position works and the
    # global value is not overwritten when the sub-command omits them.
    common = _Parser(add_help=False)  # only lends its arguments; _Parser because add_parser wants its class
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print exactly one JSON document on stdout")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="more detail in the log and on the console")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail in the log and on the console")
    parser.add_argument("--self-test", nargs="?", const="", default=None, metavar="KEEP_DIR",
                        help="check this installation end to end in a temporary library and exit "
                             "(0 = passed); KEEP_DIR receives its export and window PNG")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, parents=[common], description=help_text)

    # The window's options work with or without "gui" (without a command the window opens); the
    # sub-command's copies default to SUPPRESS so that a value given before "gui" is kept.
    _window_options(parser, None)
    _window_options(cmd("gui", "open the ReelDesk window (the default)"), argparse.SUPPRESS)
    if not commands:
        return parser
    from desktop import cli_export, cli_import, cli_models, cli_preview, cli_sync, cli_track

    cli_import.add_parsers(cmd)  # import, watch

    p = cmd("mark", "mark a clip (a time range) on a media file")
    p.add_argument("media", metavar="MEDIA_HASH")
    p.add_argument("--start", type=number, required=True, metavar="S", help="start, seconds")
    p.add_argument("--end", type=number, required=True, metavar="E", help="end, seconds")
    p.add_argument("--rating", type=integer, metavar="N", help="0-5")
    p.add_argument("--tags", type=_tags, metavar="a,b", help="comma-separated tags")
    p.add_argument("--notes", metavar="T")
    p.add_argument("--name", metavar="T")

    p = cmd("project", "create, fill and list projects")
    psub = p.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    pc = psub.add_parser("create", help="create a project", parents=[common])
    pc.add_argument("name", metavar="NAME")
    pc.add_argument("--aspect", default=None, metavar="RATIO", help="9:16 (default), 16:9, 1:1 or 4:5")
    pa = psub.add_parser("add", help="add a clip to a project", parents=[common])
    pa.add_argument("project", metavar="PROJECT")
    pa.add_argument("clip", metavar="CLIP")
    pa.add_argument("--position", type=integer, metavar="N", help="0-based place in the project (default: last)")
    psub.add_parser("list", help="list projects", parents=[common])

    p = cmd("apply", "apply one gesture given as JSON (or - to read it from stdin)")
    p.add_argument("gesture", metavar="JSON")

    for name in ("undo", "redo"):
        p = cmd(name, f"{name} this device's last gesture in a project")
        p.add_argument("scope", metavar="PROJECT")

    p = cmd("show", "show a project's latest state")
    p.add_argument("project", metavar="PROJECT")

    p = cmd("history", "list the versions of a working clip, oldest first")
    p.add_argument("working_clip", metavar="WORKING_CLIP")

    cmd("clips", "list raw clips")
    cmd("conflicts", "list unresolved conflicts")
    cli_sync.register(sub, parents=[common])  # sync, remote, doctor
    cli_export.register(sub, parents=[common])  # export, jobs, cancel, retry
    cli_track.register(sub, parents=[common])  # track
    cli_preview.register(sub, [common], number)  # preview
    cli_models.register(sub, [common])  # models
    return parser


# -- commands ----------------------------------------------------------------------------------
def _fmt_time(seconds: float) -> str:
    m, s = divmod(max(0.0, float(seconds)), 60.0)
    return f"{int(m)}:{s:05.2f}"


def _short(uid: str | None) -> str:
    return "-" if not uid else uid


def cmd_mark(lib: Library, args: argparse.Namespace) -> Outcome:
    payload: dict[str, Any] = {"media": args.media, "start": args.start, "end": args.end}
    for key in ("rating", "tags", "notes", "name"):
        value = getattr(args, key)
        if value is not None:
            payload[key] = value
    uid = lib.apply(Gesture(GestureKind.MARK_CLIP, None, payload)).entity
    return Outcome({"clip": uid}, f"marked clip {uid}  {_fmt_time(args.start)}-{_fmt_time(args.end)}")


def cmd_project(lib: Library, args: argparse.Namespace) -> Outcome:
    if args.project_command == "create":
        payload: dict[str, Any] = {"name": args.name}
        if args.aspect is not None:
            payload["aspect"] = args.aspect
        uid = lib.apply(Gesture(GestureKind.CREATE_PROJECT, None, payload)).entity
        return Outcome({"project": uid}, f"created project {uid}")
    if args.project_command == "add":
        payload = {"raw_clip": args.clip}
        if args.position is not None:
            payload["position"] = args.position
        wc = lib.apply(Gesture(GestureKind.ADD_CLIP, args.project, payload)).created["working_clip"]
        return Outcome({"working_clip": wc}, f"added working clip {wc}")
    projects = lib.projects()
    text = "\n".join(f"{p['uid']}  {p['aspect']:>4}  {p['name']}" for p in projects) or "no projects"
    return Outcome(projects, text)


def _result_text(verb: str, result: dict[str, Any], *, with_kind: bool = True) -> str:
    what = f"{verb} {result['kind']}" if with_kind else verb  # an undo's kind is always "revert": noise
    parts = [f"{what} (op {result['op_id']})"]
    if result.get("duplicate"):
        parts.append("already applied, nothing changed")
    if result.get("version") is not None:
        parts.append(f"version {result['version']}")
    if result.get("created"):
        parts.append("created " + ", ".join(f"{k} {v}" for k, v in sorted(result["created"].items())))
    return "; ".join(parts)


def cmd_apply(lib: Library, args: argparse.Namespace) -> Outcome:
    text = sys.stdin.read() if args.gesture == "-" else args.gesture
    gesture = Gesture.from_user(parse_json(text))
    result = lib.apply(gesture).to_json()
    return Outcome(result, _result_text("applied", result))


def _known_scope(lib: Library, uid: str) -> bool:
    # Deleted ones count: undoing a delete is the point.
    return (any(p["uid"] == uid for p in lib.projects(include_deleted=True))
            or any(c["uid"] == uid for c in lib.raw_clips(include_deleted=True)))


def cmd_undo_redo(lib: Library, args: argparse.Namespace) -> Outcome:
    undo = args.command == "undo"
    if not _known_scope(lib, args.scope):
        raise CliError(f"unknown project {args.scope}")
    result = lib.undo(args.scope) if undo else lib.redo(args.scope)
    if result is None:
        key = "undone" if undo else "redone"
        return Outcome({key: None}, f"nothing to {args.command}")
    data = result.to_json()
    return Outcome(data, _result_text("undone" if undo else "redone", data, with_kind=False))


def cmd_show(lib: Library, args: argparse.Namespace) -> Outcome:
    canonical = lib.project_json(args.project)  # printed verbatim: byte-identical on every machine
    doc = json.loads(canonical)
    proj = doc["project"]
    lines = [f"{proj['name']}  ({proj['aspect']})  {proj['uid']}" + ("  [deleted]" if proj["deleted"] else ""),
             f"{len(doc['clips'])} clip(s), {doc['output_duration']:.2f} s"]
    for i, c in enumerate(doc["clips"], 1):
        src, edit = c["source"], c["edit"]
        extras = []
        if edit["crop_keyframes"]:
            extras.append(f"{len(edit['crop_keyframes'])} keyframe(s)")
        if edit["splits"]:
            extras.append(f"{len(edit['splits'])} split(s)")
        if edit["trim"]:
            extras.append("trimmed")
        if edit["rotation"]:
            extras.append(f"rotated {edit['rotation']:g} deg")
        if edit["regions"]:
            extras.append(f"{len(edit['regions'])} spotlight(s)")
        tail = f"  [{', '.join(extras)}]" if extras else ""
        lines.append(f"{i:3d}. {c['uid']}  {_fmt_time(src['start'])}-{_fmt_time(src['end'])}"
                     f"  -> {c['output_duration']:.2f} s{tail}")
    return Outcome(doc, "\n".join(lines), canonical=canonical)


def cmd_history(lib: Library, args: argparse.Namespace) -> Outcome:
    versions = lib.history(args.working_clip)
    lines = []
    for v in versions:
        g = v["gesture"]
        undo = f" (undoes {g['undoes']})" if g.get("undoes") else ""
        lines.append(f"v{v['version']:<4} {v['created_at'] or '-'}  {g['kind'] or '?'}{undo}  op {_short(g['op_id'])}")
    return Outcome(versions, "\n".join(lines))


def cmd_clips(lib: Library, args: argparse.Namespace) -> Outcome:
    clips = lib.raw_clips()
    lines = []
    for c in clips:
        tags = f"  [{', '.join(c['tags'])}]" if c["tags"] else ""
        rating = f"  {c['rating']}/5" if c["rating"] else ""
        lines.append(f"{c['uid']}  {_fmt_time(c['start'])}-{_fmt_time(c['end'])}{rating}  {c['name']}{tags}")
    return Outcome(clips, "\n".join(lines) or "no clips")


def cmd_conflicts(lib: Library, args: argparse.Namespace) -> Outcome:
    conflicts = lib.conflicts()
    lines = [f"{c['entity_uid']}  {c['path']}  lost: op {c['loser_op_id']}  won: op {c['winner_op_id']}"
             for c in conflicts]
    return Outcome(conflicts, "\n".join(lines) or "no conflicts")


def commands() -> dict[str, Callable[[Library, argparse.Namespace], Outcome]]:
    """Every command but ``gui``, by name (imports the command modules)."""
    from desktop import cli_export, cli_import, cli_models, cli_preview, cli_sync, cli_track

    found: dict[str, Callable[[Library, argparse.Namespace], Outcome]] = {
        "import": cli_import.cmd_import, "watch": cli_import.cmd_watch, "mark": cmd_mark, "project": cmd_project,
        "apply": cmd_apply,
        "undo": cmd_undo_redo, "redo": cmd_undo_redo, "show": cmd_show, "history": cmd_history,
        "clips": cmd_clips, "conflicts": cmd_conflicts,
    }
    for module in (cli_sync, cli_export, cli_track, cli_preview, cli_models):
        found.update(module.COMMANDS)
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse with the window's options first, so that opening the window imports no command
    module; anything else (a command, a mistake, --help) goes to the full parser."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not {"-h", "--help"} & set(args):
        try:
            return build_parser(commands=False).parse_args(args)
        except CliError:
            pass
    return build_parser().parse_args(args)


def _run_gui(root: Path, args: argparse.Namespace) -> int:
    screenshot: Path | None = getattr(args, "screenshot", None)
    quit_after: float | None = getattr(args, "quit_after", None)
    if quit_after is not None and quit_after < 0:
        raise CliError("--quit-after must be >= 0 seconds")
    if screenshot is not None and not screenshot.parent.is_dir():
        raise CliError(f"cannot write screenshot {screenshot}: folder {screenshot.parent} does not exist")
    from desktop.app import launch  # Qt is loaded only for the window: other commands stay headless and fast

    extra: dict[str, Any] = {k: getattr(args, k) for k in ("mode", "project") if getattr(args, k, None) is not None}
    # The window opens the library itself, after its first paint (a failure is shown in the window).
    return launch(root, screenshot=screenshot, quit_after=quit_after, **extra)


# -- entry point -------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``reeldesk`` command; returns the exit code (the console script exits with it)."""
    raw = list(argv) if argv is not None else sys.argv[1:]
    if raw[:1] == [WORKER_FLAG]:  # a frozen app is its own export worker
        from desktop import cli_export

        return cli_export.run_worker(raw[1:])
    try:
        args = parse_args(raw)
    except CliError as exc:
        error_line(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK

    if args.self_test is not None:  # before any library is opened: the user's is never touched
        from desktop.selftest import run_self_test

        return run_self_test(Path(args.self_test) if args.self_test else None)

    if (args.command or "gui") == "gui":
        from desktop.display_check import display_problem

        problem = display_problem()
        if problem is not None:  # before Qt, which would abort with its own unhelpful message
            error_line(problem)
            return EXIT_USAGE
    root = Path(args.library) if args.library is not None else default_library_dir()
    session: LoggingSession = setup_logging(root, verbose=args.verbose)
    lib: Library | None = None
    try:
        command = args.command or "gui"
        log.debug("command %s in %s", command, root)
        if command == "gui":
            return _run_gui(root, args)
        from core.changes import Initiator

        run = commands()[command]
        lib = open_library(root)
        lib.initiator = Initiator.CLI  # readers of its change sets tell a script's edits from the window's
        outcome = run(lib, args)
        emit(outcome, args.json)
        return outcome.code
    except (CliError, GestureError, MediaError, ValueError, FileNotFoundError) as exc:
        # Expected: bad input. The file log keeps the context; the user gets one line.
        log.info("rejected: %s", exc, exc_info=True, extra={FILE_ONLY: True})
        error_line(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        log.error("unexpected error", exc_info=True, extra={FILE_ONLY: True})
        where = f" (details in {session.log_file})" if session.log_file else ""
        sys.stderr.write(f"{PROG}: unexpected error: {error_text(exc)}{where}\n")
        return EXIT_FAILED
    finally:
        if lib is not None:
            lib.close()
        session.close()


if __name__ == "__main__":
    sys.exit(main())
