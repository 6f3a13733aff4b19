"""Record the pinned `--json` outputs of every command at small sizes (issue "One spine": numbers must not move).

Run once before a refactor: `python tests/golden/record.py`. Each case stores the command line it ran and
every number of the result outside `config` (and outside `command`), flattened. `tests/cli/test_golden.py`
re-runs each case with today's flags and checks that every pinned number is still produced (relative
tolerance 1e-9), wherever its key has moved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent

# name -> argv at recording time (old spellings; the test maps them to today's vocabulary)
CASES = {
    "train_two_layer_resnet": ["train", "two-layer", "--p", "6", "--k", "3", "--trials", "3", "--stage2-iterations", "300", "--seed", "3"],
    "train_two_layer_cnn": ["train", "two-layer", "--student", "cnn", "--schedule", "large-w", "--p", "5", "--k", "4", "--trials", "4", "--stage2-iterations", "200", "--seed", "11"],
    "landscape_two_layer": ["landscape", "two-layer", "--p", "6", "--k", "3", "--profile-points", "9", "--basin-phi", "4", "--basin-a", "3", "--probes", "4", "--stage2-iterations", "200", "--seed", "2"],
    "success_rate": ["success-rate", "--p", "6", "--k", "3,5", "--trials", "40", "--stage2-iterations", "300", "--methods", "cnn,resnet,resnet-ssw,resnet-a-first", "--jobs", "1", "--seed", "4"],
    "hessian_theorem": ["hessian", "--shortcut", "2", "--depth", "4", "--init", "zero", "--samples", "40", "--data", "gaussian", "--dim", "4", "--seed", "1"],
    "hessian_trained": ["hessian", "--shortcut", "1", "--depth", "3", "--init", "xavier", "--at", "trained", "--epochs", "30", "--lr", "0.05", "--runs", "2", "--data", "digits", "--seed", "5"],
    "hessian_slq": ["hessian", "--shortcut", "2", "--depth", "4", "--init", "small", "--spectrum", "slq", "--lanczos-steps", "20", "--lanczos-probes", "3", "--act-mid", "relu", "--data", "digits", "--seed", "7"],
    "train_shortcut": ["train", "shortcut", "--shortcut", "2", "--depth", "4", "--init", "small", "--data", "digits", "--epochs", "40", "--lr", "0.1", "--hessian-every", "20", "--log-every", "10", "--seed", "0"],
    "depth_sweep_cond": ["depth-sweep", "--depths", "2,3,4", "--networks", "2-shortcut,1-shortcut,xavier,orthogonal", "--measure", "init-cond", "--runs", "2", "--jobs", "1", "--seed", "0"],
    "depth_sweep_loss": ["depth-sweep", "--depths", "2,4", "--networks", "2-shortcut,xavier", "--measure", "final-loss", "--epochs", "30", "--lrs", "logspace:-2:0:3", "--runs", "2", "--act-mid", "relu", "--samples", "60", "--jobs", "1", "--seed", "0"],
    "deep_resnet_example1": ["landscape", "deep-resnet", "--data", "yun-example1", "--rho", "0.5", "--compare", "fc", "--inits", "6", "--steps", "400", "--seed", "0", "--finder", "gd"],
    "deep_resnet_gaussian": ["landscape", "deep-resnet", "--data", "gaussian", "--samples", "12", "--dim", "2", "--blocks", "1,2", "--hidden", "2", "--inits", "4", "--steps", "300", "--init", "near-identity", "--seed", "1", "--finder", "gd"],
}


def numbers(obj, path=""):
    """Every finite number (and non-finite marker string) of a JSON value, with its path."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if path == "" and key in ("config", "command"):
                continue
            yield from numbers(value, f"{path}/{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from numbers(value, f"{path}[{i}]")
    elif isinstance(obj, bool):
        return
    elif isinstance(obj, (int, float)):
        yield path, float(obj)


def main() -> None:
    from resnet_cli.cli import run
    import contextlib, io

    for name, argv in CASES.items():
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(argv + ["--json", "--quiet"])
        assert code == 0, (name, code, err.getvalue())
        payload = json.loads(out.getvalue())
        pairs = list(numbers(payload))
        (HERE / f"{name}.json").write_text(json.dumps({"argv": argv, "numbers": pairs}, indent=0) + "\n")
        print(name, len(pairs), "numbers")


if __name__ == "__main__":
    main()
