"""``medgan turing score|serve``: score a class's answer sheets against a kit; serve the quiz to a class."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("turing", help="the classroom visual Turing test: score answers, serve the quiz")
    commands = parser.add_subparsers(dest="turing_command", required=True)

    score = commands.add_parser("score", help="score every answer sheet against the kit's key; writes the "
                                              "figures and per-image table to KIT/teacher/")
    score.add_argument("kit", type=Path, help="kit folder (<study>/turing/<run>, written by notebook 07)")
    score.add_argument("answers", type=Path, nargs="?", help="folder of answer sheets (*.csv); default KIT/answers")
    score.set_defaults(func=_score)

    serve = commands.add_parser("serve", help="serve the quiz to the class's browsers and collect the answers in "
                                              "KIT/answers/")
    serve.add_argument("kit", type=Path, help="kit folder (<study>/turing/<run>)")
    serve.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    serve.add_argument("--lan", action="store_true", help="listen on every network interface so the class's "
                                                          "devices can connect (default: this computer only)")
    serve.add_argument("--refresh", type=int, default=5, help="seconds between refreshes of the results page")
    serve.set_defaults(func=_serve)


def _score(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medgan_lib.atomic import atomic_open
    from medgan_lib.turing.kit import Kit
    from medgan_lib.turing.plots import class_figure, fooled_figure
    from medgan_lib.tables import formatted
    from medgan_lib.turing.scoring import class_result, read_sheets, reader_table, summary_lines

    kit = Kit(args.kit)
    try:
        is_real = kit.is_real()
        sheets = read_sheets(args.answers or kit.answers, len(is_real))
    except FileNotFoundError as err:
        print(f"medgan turing score: {err}", file=sys.stderr)
        return 2
    if not sheets:
        print(f"medgan turing score: no readable answer sheets in {args.answers or kit.answers}", file=sys.stderr)
        return 2
    result = class_result(is_real, sheets)
    print(formatted(reader_table(result), p_columns=["p (vs 50 %)"]).to_string(index=False))
    print("\n".join(summary_lines(result)))
    written = []
    for name, fig in (("class_result.png", class_figure(result)), ("fooled.png", fooled_figure(kit, result))):
        if fig is not None:
            with atomic_open(kit.teacher / name, "wb") as handle:
                fig.savefig(handle, format="png", dpi=100, bbox_inches="tight")
            plt.close(fig)
            written.append(kit.teacher / name)
    with atomic_open(kit.teacher / "per_image.csv", "w") as handle:
        result.per_image.to_csv(handle, index=False)
    written.append(kit.teacher / "per_image.csv")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from medgan_lib.turing.serve import make_server

    try:
        server = make_server(args.kit, lan=args.lan, port=args.port, refresh=args.refresh)
    except (FileNotFoundError, OSError) as err:
        print(f"medgan turing serve: {err}", file=sys.stderr)
        return 2
    port = server.server_address[1]
    host = _lan_address() if args.lan else "127.0.0.1"
    print(f"quiz for the class:   http://{host}:{port}/\nresults (teacher only): "
          f"http://{host}:{port}/results?token={server.token}\nanswers are stored in {server.kit.answers}; "
          f"Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped; score the class with: medgan turing score " + str(args.kit))
    finally:
        server.server_close()
    return 0


def _lan_address() -> str:
    """This computer's address on its network (no packet is sent), or its hostname."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return socket.gethostname()
