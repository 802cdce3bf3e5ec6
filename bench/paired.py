#!/usr/bin/env python3
"""Time several commands in interleaved rounds and print JSON.

Each round runs every command once, in an order that rotates from round
to round. A load change on the machine then hits all commands alike, and
the ratio of two commands' times within one round is a paired sample.
hyperfine instead runs all runs of one command before the next command,
so on a shared machine a slow minute can land on one builder only.

Usage: paired.py [--rounds N] [--warmup N] NAME=COMMAND...
A COMMAND is split like a shell word list (no pipes or redirections);
leading VAR=VALUE words set the environment. The first NAME is the
reference for the ratios. A command that fails stops the script with
its exit status and its last output lines.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time


def parse_command(spec):
    """Split NAME=COMMAND into the name, an environment and an argv."""
    name, sep, command = spec.partition("=")
    if not sep or not name or not command:
        raise SystemExit(f"paired: invalid command '{spec}': expected NAME=COMMAND")
    words = shlex.split(command)
    env = dict(os.environ)
    while words and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if not words:
        raise SystemExit(f"paired: command '{name}' has no program")
    return name, command, env, words


def run_once(name, env, argv):
    """Run argv once and return its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-5:]
        sys.stderr.write(f"paired: '{name}' exited with status {result.returncode}:\n")
        sys.stderr.write("\n".join(tail) + "\n")
        raise SystemExit(result.returncode)
    return elapsed


def summarize(values):
    return {
        "median": statistics.median(values),
        "mean": statistics.fmean(values),
        "stddev": statistics.stdev(values) if len(values) > 1 else None,
        "min": min(values),
        "max": max(values),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args()
    commands = [parse_command(spec) for spec in args.commands]
    times = {name: [] for name, _, _, _ in commands}

    for round_index in range(args.warmup + args.rounds):
        shift = round_index % len(commands)
        for name, _, env, argv in commands[shift:] + commands[:shift]:
            elapsed = run_once(name, env, argv)
            if round_index >= args.warmup:
                times[name].append(elapsed)

    reference = commands[0][0]
    results = []
    for name, command, _, _ in commands:
        entry = {"builder": name, "command": command, "runs": args.rounds,
                 "times": times[name], **summarize(times[name])}
        if name != reference:
            ratios = [t / r for t, r in zip(times[name], times[reference])]
            entry["ratio_to_" + reference] = summarize(ratios)
        results.append(entry)
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
