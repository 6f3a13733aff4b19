"""The vocabulary of the command line: one flag per idea, and every deprecated spelling in one place.

Two kinds of old spelling are kept as hidden aliases until release `REMOVED_IN`:

- `RENAMED[command][old] = new`: flag names. The CLI rewrites them in argv (`rewrite_argv`) and
  `config.Settings.resolve` rewrites the same names as TOML keys (`renamed_key`), each with a one-line
  notice on stderr;
- `RENAMED_VALUES[command][field][old] = new`: values of a setting (success-rate's method names), rewritten
  by `Settings.resolve` for flags, TOML files and Python alike (`rename_values`), with the same notice.

They are the spellings of the development snapshots before release 0.1.0 (the names before "one flag per
idea"); release 0.1.0 (this package's version) accepts them with a notice and `REMOVED_IN` drops them.
`docs/cli.md` holds the table of every flag and its idea; a test checks it against the registered options.
No CLI library is imported here.
"""

from __future__ import annotations

# One idea, one flag, across all commands (the renames of the "One spine" issue):
#   independent random repetitions -> --trials   (was --runs, --inits)
#   optimizer iterations           -> --steps    (was --iterations, --epochs)
#   a step size                    -> --lr, --lr-a, --lr-w, --c-lr-w  (was --eta, --eta-a, --eta-w, --c-eta-w)
#   a flag that a sweep may list    -> singular: --schedule, --depth, --lr, --network, --method
#   Lanczos probe vectors          -> --lanczos-probes (was --probes; --probes is the landscapes' probes)
#   the spectrum method            -> --spectrum (was --method; --method is success-rate's training method)
#   the initial weights            -> --init (depth-sweep's was --shortcut-init)
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
# --method and --probes, the old spellings of --spectrum and --lanczos-probes, were dropped before REMOVED_IN:
# both are flags of other commands (success-rate's training method, the landscapes' probes), and one name
# must not mean two things.
_SPECTRUM = {"--epochs": "--steps"}
#: The old spellings dropped before REMOVED_IN, per command: old -> (today's flag, what the old name is now).
_DROPPED_SPECTRUM = {"--method": ("--spectrum", "success-rate's training method"),
                     "--probes": ("--lanczos-probes", "the landscapes' probes")}
DROPPED: dict[str, dict[str, tuple[str, str]]] = {
    command: _DROPPED_SPECTRUM for command in ("hessian", "train shortcut", "depth-sweep")}

RENAMED: dict[str, dict[str, str]] = {
    "train two-layer": dict(_TWO_LAYER),
    "landscape two-layer": {**_TWO_LAYER, "--schedules": "--schedule"},
    "success-rate": {**_TWO_LAYER, "--methods": "--method"},
    "hessian": {**_SPECTRUM, "--runs": "--trials"},
    "train shortcut": {**_SPECTRUM, "--log-every": "--trace-every"},
    "depth-sweep": {**_SPECTRUM, "--runs": "--trials", "--depths": "--depth", "--networks": "--network", "--lrs": "--lr",
                    "--shortcut-init": "--init"},
    "landscape deep-resnet": {"--inits": "--trials"},
    "landscape linear-resnet": {},
}

#: Old values of a setting -> new ones, per command and settings field (the method names before the
#: large-step variants were told apart, docs/success-rate.md; the schedule `constant`, now `large-w` as in
#: the method names).
RENAMED_VALUES: dict[str, dict[str, dict[str, str]]] = {
    "success-rate": {"method": {"cnn": "cnn-large-w", "resnet": "resnet-large-w"}},
    # the schedule of the *-large-w methods had its own name, beside large-both
    "train two-layer": {"schedule": {"constant": "large-w"}},
    "landscape two-layer": {"schedule": {"constant": "large-w"}},
}

#: The release that removes every old spelling above (the package is at 0.1.x: they work until then).
REMOVED_IN = "0.2.0"

# The TOML table of each command in a config file or preset.
SECTIONS: dict[str, str] = {command: command.replace(" ", "-") for command in RENAMED}


def notice(old: str, new: str) -> str:
    """The one-line deprecation notice for an old spelling."""
    return f"note: {old} is deprecated and will be removed in release {REMOVED_IN}; use {new}"


def renamed_briefly(message: str) -> str | None:
    """"--runs is now --trials" for the `notice` of a flag's old spelling (None for any other line): what a
    refusal of that flag's value adds, since the user typed the old name."""
    head, _, new = message.partition(" is deprecated and will be removed in release ")
    if not head.startswith("note: --") or "; use " not in new:
        return None
    return f"{head.removeprefix('note: ')} is now {new.split('; use ', 1)[1]}"


def renamed_key(command: str, raw_key: str, notify=None, in_file: bool = True) -> str:
    """The flag a key of `command`'s settings stands for (``eta`` -> ``--lr``), with a notice if it was an old
    spelling: what `config.Settings.resolve` reads a TOML table's keys (`in_file`) and Python's through."""
    flag = "--" + raw_key.replace("_", "-")
    new = RENAMED.get(command, {}).get(flag)
    if new is None:
        return flag
    if notify is not None:
        notify(notice(f"config key {raw_key!r} ({flag})" if in_file else flag, new))
    return new


def rename_values(command: str, values: dict, notify=None) -> dict:
    """`values` (field -> value) with the old values of `RENAMED_VALUES[command]` replaced, one notice per old
    value used (in the order given); lists are rewritten item by item."""
    out = dict(values)
    for field, table in RENAMED_VALUES.get(command, {}).items():
        if field not in out or out[field] is None:
            continue
        value = out[field]
        items = value if isinstance(value, list) else [value]
        for old in dict.fromkeys(item for item in items if isinstance(item, str) and item in table):
            if notify is not None:
                notify(notice(f"--{field.replace('_', '-')} {old}", table[old]))
        renamed = [table.get(item, item) if isinstance(item, str) else item for item in items]
        twice = next((new for i, new in enumerate(renamed) if new in renamed[:i]), None)
        if twice is not None and any(item in table for item in items):  # quote what the user typed
            from resnet_cli.errors import ConfigError

            olds = sorted({item for item, new in zip(items, renamed) if new == twice and item != twice})
            raise ConfigError(f"--{field.replace('_', '-')} {','.join(map(str, items))}: {twice} is listed twice"
                              + (f" ({', '.join(olds)}: its old name)" if olds else ""))
        out[field] = renamed if isinstance(value, list) else renamed[0]
    return out


def rewrite_argv(argv: list[str], notify) -> list[str]:
    """Replace the old spellings of the command named at the front of `argv` (``train two-layer ...``).

    `notify(message)` receives one deprecation notice per old spelling used. Values are never touched:
    only tokens in option position (``--old`` or ``--old=value``) are rewritten.
    """
    command = _command_of(argv)
    dropped = DROPPED.get(command or "", {})
    for token in argv:
        flag = token.partition("=")[0]
        if flag in dropped:  # (click would suggest a flag by its letters: "--method? Did you mean --depth?")
            from resnet_cli.errors import ConfigError

            new, now = dropped[flag]
            raise ConfigError(f"{flag}: not an option of {command}; use {new} ({flag} is {now})")
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
