"""Where a gunicorn worker's time goes in one scenario of the gunicorn bench:
py-spy samples both workers while wrk loads them, and the stacks are summed
per function (inclusive and own time, as shares of all samples).

    .venv/bin/python bench/profile.py subject          # or repeat, json, users, submit, cond-render, cond-submit
    .venv/bin/python bench/profile.py submit --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/profile.py cond-submit --side baseline   # the hand-written app's workers

py-spy attaches with ptrace (root, or CAP_SYS_PTRACE). Sampling slows the
workers down: read shares, not speeds.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import gunicorn_bench as gb  # noqa: E402
from bench.wrk import LUA, wrk  # noqa: E402

_WHERE = re.compile(r" \((?:.*?/(?:site-packages|lib/python3\.\d+)/|" + re.escape(str(ROOT)) + r"/)?(.*?):\d+\)$")


def frame_name(frame: str) -> str:
    """``show (/…/web/html.py:51)`` -> ``show (web/html.py)``."""
    return _WHERE.sub(r" (\1)", frame)


def summarize(files: list[Path], top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [frame_name(f) for f in stack.split(";")]
            for name in set(frames):
                inclusive[name] += n
            own[frames[-1]] += n
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("own", own)):
        lines.append(f"--- {title}")
        lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=list(gb.MODES))
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--pg", help="run on this PostgreSQL URL instead of a fresh SQLite file")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--side", choices=["prefill", "baseline"], default="prefill")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = args.pg or f"sqlite:///{work / 'profile.sqlite3'}"
        tokens_file = work / "tokens.txt"
        tokens_file.write_text("\n".join(gb.seed(url, 20000)) + "\n")
        script = work / "bench.lua"
        script.write_text(LUA)
        port = gb.free_port()
        proc = gb.serve(args.side, url, port, 2)
        load, paths, body, _ = gb.MODES[args.mode]
        path = paths[args.side]
        try:
            wrk(port, "repeat" if load == "users" else load, path, tokens_file, script, 2, 1, 2, 2, 16, body)
            workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
            outs = [work / f"stacks-{pid}.txt" for pid in workers]
            spies = [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", pid,
                                       "-d", str(args.seconds), "-r", "500", "--format", "raw", "-o", str(out),
                                       "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for pid, out in zip(workers, outs, strict=True)]
            sampled = wrk(port, load, path, tokens_file, script, args.seconds, 0, 2, 2, 16, body)
            for spy in spies:
                spy.wait(timeout=args.seconds + 30)
        finally:
            gb.stop(proc)
        print(f"{args.mode}: {sampled['rps']:.0f} req/s while sampled")
        print(summarize([o for o in outs if o.exists()], args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
