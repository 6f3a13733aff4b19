"""The vocabulary of the command line: one flag per idea, and the old spellings kept for one release.

`RENAMED[command][old] = new` lists the spellings of release 0.1 that still work in 0.2 as hidden aliases:
the CLI rewrites them (and config-file keys) to the new flag and prints a one-line notice on stderr.
`docs/cli.md` holds the table of every flag and its idea; a test checks it against the registered options.
No CLI library is imported here: `config.py` uses the same table for TOML keys.
"""

from __future__ import annotations

# One idea, one flag, across all commands (the renames of the "One spine" issue):
#   independent random repetitions -> --trials   (was --runs, --inits)
#   optimizer iterations           -> --steps    (was --iterations, --epochs)
#   a step size                    -> --lr, --lr-a, --lr-w, --c-lr-w  (was --eta, --eta-a, --eta-w, --c-eta-w)
#   a flag that a sweep may list    -> singular: --schedule, --depth, --lr, --network, --method
#   Lanczos probe vectors          -> --lanczos-probes (was --probes; --probes stays the landscape's probes)
#   the spectrum method            -> --spectrum (was --method; --method is success-rate's training method)
#   a trace row every N steps      -> --trace-every (was --log-every)
_TWO_LAYER = {
    "--eta": "--lr",
    "--eta-a": "--lr-a",
    "--eta-w": "--lr-w",
    "--c-eta-w": "--c-lr-w",
    "--iterations": "--steps",
    "--stage1-iterations": "--stage1-steps",
    "--stage2-iterations": "--stage2-steps",
}
_SPECTRUM = {"--method": "--spectrum", "--probes": "--lanczos-probes", "--epochs": "--steps"}

RENAMED: dict[str, dict[str, str]] = {
    "train two-layer": dict(_TWO_LAYER),
    "landscape two-layer": {**_TWO_LAYER, "--schedules": "--schedule"},
    "success-rate": {**_TWO_LAYER, "--methods": "--method"},
    "hessian": {**_SPECTRUM, "--runs": "--trials"},
    "train shortcut": {**_SPECTRUM, "--log-every": "--trace-every"},
    "depth-sweep": {**_SPECTRUM, "--runs": "--trials", "--depths": "--depth", "--networks": "--network", "--lrs": "--lr"},
    "landscape deep-resnet": {"--inits": "--trials"},
}

# The TOML table of each command in a config file or preset.
SECTIONS: dict[str, str] = {command: command.replace(" ", "-") for command in RENAMED}


def notice(old: str, new: str) -> str:
    """The one-line deprecation notice for an old spelling."""
    return f"note: {old} is deprecated and will be removed in the next release; use {new}"


def rewrite_argv(argv: list[str], notify) -> list[str]:
    """Replace the old spellings of the command named at the front of `argv` (``train two-layer ...``).

    `notify(message)` receives one deprecation notice per old spelling used. Values are never touched:
    only tokens in option position (``--old`` or ``--old=value``) are rewritten.
    """
    command = _command_of(argv)
    table = RENAMED.get(command or "", {})
    if not table:
        return list(argv)
    out, seen = [], set()
    for token in argv:
        flag, eq, value = token.partition("=")
        if flag in table and token.startswith("--"):
            if flag not in seen:
                notify(notice(flag, table[flag]))
                seen.add(flag)
            token = table[flag] + (eq + value if eq else "")
        out.append(token)
    return out


def _command_of(argv: list[str]) -> str | None:
    words = []
    for token in argv:
        if token.startswith("-"):
            break
        words.append(token)
        if " ".join(words) in RENAMED:
            return " ".join(words)
    return None
