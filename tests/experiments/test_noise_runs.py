"""Perturbed GD in the experiments: success-rate's *-noise methods (seeded per cell, --jobs 1 = 2, the other
methods' numbers untouched), train two-layer --noise (0 = plain GD), perturbed minibatch SGD (--samples N
--batch B with the noise: seeded, --jobs 1 = 2, plain SGD's numbers untouched), and the refusals."""

from __future__ import annotations

import numpy as np

from resnet_cli.experiments import success_rate as sr, two_layer as tl_exp


def _settings(**kw):
    base = dict(p=[6], k=[3, 5], method=["cnn-large-w", "cnn-noise", "resnet-noise"], trials=30, seed=2,
                stage2_steps=800, jobs=1)
    return sr.SuccessSettings(**{**base, **kw})


def test_noise_methods_jobs_and_seed():
    serial = sr.run(_settings()).to_dict()["cells"]
    assert sr.run(_settings(jobs=2)).to_dict()["cells"] == serial
    other = sr.run(_settings(seed=3)).to_dict()["cells"]
    assert [c["global"] for c in other] != [c["global"] for c in serial] or other != serial
    # every noise trial runs to T (no early stop while the noise is on)
    assert all(c["mean_steps_run"] == c["steps"] for c in serial if c["method"].endswith("-noise"))


def test_noise_methods_leave_the_others_alone():
    """Common random numbers: the teachers, starts and the plain methods' outcomes do not depend on whether a
    noise method runs beside them (its stream is its own)."""
    alone = sr.run(_settings(method=["cnn-large-w"])).to_dict()["cells"]
    beside = [c for c in sr.run(_settings()).to_dict()["cells"] if c["method"] == "cnn-large-w"]
    assert alone == beside


def test_zero_noise_is_plain_gd_and_noise_changes_the_run():
    base = dict(student="cnn", schedule="large-w", trials=6, stage2_steps=500, seed=4, p=6, k=3)
    plain = tl_exp.run_train(tl_exp.TrainSettings(**base)).to_dict()
    zero = tl_exp.run_train(tl_exp.TrainSettings(**base, noise=0.0)).to_dict()
    assert [r["final"] for r in zero["runs"]] == [r["final"] for r in plain["runs"]]
    assert np.array_equal(zero["trace"]["phi"], plain["trace"]["phi"])
    noisy = tl_exp.run_train(tl_exp.TrainSettings(**base, noise=0.5)).to_dict()
    assert noisy["config"]["noise"] == 0.5 and not np.array_equal(noisy["trace"]["phi"], plain["trace"]["phi"])
    again = tl_exp.run_train(tl_exp.TrainSettings(**base, noise=0.5)).to_dict()
    assert np.array_equal(again["trace"]["phi"], noisy["trace"]["phi"])


def test_refusals(cli, one_line_error):
    assert "--flow" in one_line_error(cli("train", "two-layer", "--noise", "1", "--flow"))
    assert "--stride" in one_line_error(cli("success-rate", "--method", "cnn-noise", "--stride", "4", "--trials", "2"))
    one_line_error(cli("success-rate", "--method", "cnn-noise", "--noise-anneal", "cosine"))
    one_line_error(cli("train", "two-layer", "--noise", "-1"))
    one_line_error(cli("success-rate", "--method", "cnn-noise-flow"))


def _sgd(**kw):
    return _settings(**{"method": ["cnn-large-both", "cnn-noise"], "samples": 64, "batch": 4, "trials": 12,
                        "stage2_steps": 300, **kw})


def test_perturbed_sgd_jobs_and_seed():
    """success-rate --samples 64 --batch 4 with cnn-noise: the same seed the same cells for --jobs 1 and 2, run
    to T; the plain SGD method beside it is the one run alone (its data and sampling streams are its own
    copies, the noise stream is the noise method's own)."""
    serial = sr.run(_sgd()).to_dict()
    assert serial["config"]["data"] == "SGD, N = 64, B = 4"
    assert sr.run(_sgd(jobs=2)).to_dict()["cells"] == serial["cells"]
    assert sr.run(_sgd()).to_dict()["cells"] == serial["cells"]
    assert all(c["mean_steps_run"] == c["steps"] for c in serial["cells"] if c["method"] == "cnn-noise")
    alone = sr.run(_sgd(method=["cnn-large-both"])).to_dict()["cells"]
    assert alone == [c for c in serial["cells"] if c["method"] == "cnn-large-both"]


def test_train_perturbed_sgd_seeded_and_zero_is_plain():
    base = dict(student="cnn", schedule="large-both", trials=4, stage2_steps=300, seed=4, p=6, k=3, samples=40,
                batch=5)
    plain = tl_exp.run_train(tl_exp.TrainSettings(**base)).to_dict()
    zero = tl_exp.run_train(tl_exp.TrainSettings(**base, noise=0.0)).to_dict()
    assert np.array_equal(zero["trace"]["phi"], plain["trace"]["phi"])
    noisy = tl_exp.run_train(tl_exp.TrainSettings(**base, noise=1.0)).to_dict()
    again = tl_exp.run_train(tl_exp.TrainSettings(**base, noise=1.0)).to_dict()
    assert np.array_equal(again["trace"]["phi"], noisy["trace"]["phi"])
    assert not np.array_equal(noisy["trace"]["phi"], plain["trace"]["phi"])


def test_perturbed_sgd_from_the_spurious_point_seeded():
    """experiments/noise.py `spurious_starts` on samples: plain SGD (law None) and perturbed SGD, the same
    numbers twice; a law of σ0 = 0 is plain SGD (same data, same sampling streams)."""
    from resnet_cli.experiments import noise as en
    from resnet_cli.models.two_layer import noise as nz

    s = sr.SuccessSettings(p=[6], k=[3], trials=8, seed=1, stage2_steps=300, samples=48, batch=6, teacher_v="sphere")
    laws = [None, nz.Noise(0.0, horizon=600), nz.Noise(3.0, horizon=600)]
    rows = en.spurious_starts(s, 6, 3, [np.pi], laws, "large-both")
    assert rows == en.spurious_starts(s, 6, 3, [np.pi], laws, "large-both")
    count = lambda r: [r[o] for o in ("global", "spurious", "undecided")]  # noqa: E731
    assert count(rows[0]) == count(rows[1]) and sum(count(rows[2])) == 8


def test_spurious_starts_of_several_sizes_in_one_call_are_the_calls_one_size_at_a_time():
    """`streams`: the noisy runs of two sizes in one state array, each law on the stream it has in its own
    size's list, give the rows of one call per size (as reproductions/zhou2019.py runs them)."""
    from resnet_cli.experiments import noise as en
    from resnet_cli.models.two_layer import noise as nz

    s = sr.SuccessSettings(p=[6], k=[3], trials=12, seed=2, stage2_steps=400, teacher_v="sphere")
    by_size = {size: [None, *(nz.Noise(size, kind, rate, "w", 800) for kind, rate in (("exponential", 3.0),
                                                                                      ("none", 0.0)))]
               for size in (1.0, 3.0)}
    alone = [row for laws in by_size.values() for row in en.spurious_starts(s, 6, 3, [np.pi], laws)]
    noisy = [(j, law) for laws in by_size.values() for j, law in enumerate(laws) if law is not None]
    together = en.spurious_starts(s, 6, 3, [np.pi], [None] + [law for _, law in noisy],
                                  streams=[0] + [j for j, _ in noisy])
    assert alone == [together[0], together[1], together[2], together[0], together[3], together[4]]
    # and the keys matter: by position in the one list, the 3.0 laws would read the streams of keys 3 and 4
    assert en.spurious_starts(s, 6, 3, [np.pi], [None] + [law for _, law in noisy]) != together
