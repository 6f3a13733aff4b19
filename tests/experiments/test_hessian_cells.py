"""`hessian` trials as cells: the parent draws every random sign in the order one trial after another drew
them from the shared probe stream (SLQ probes of trial 0, the Theorem 1 check's signs, the later trials),
and `slq` given those vectors computes what it computed drawing them itself."""

import numpy as np

from resnet_cli.experiments import hessian as hs
from resnet_cli.experiments.shortcut_problem import build_problem
from resnet_cli.models import shortcut as sc
from resnet_cli.spectrum import slq


def _settings(**kw):
    cfg = hs.HessianSettings(depth=4, spectrum="slq", lanczos_steps=10, lanczos_probes=3, **kw)
    cfg.validate()
    return cfg


def test_hessian_trial_tasks_draw_in_the_sequential_order():
    cfg = _settings(trials=3)
    problem = build_problem(cfg)
    W = sc.init_weights(problem.net, cfg.init, problem.init_rng, batch_shape=(cfg.trials,))
    tasks = hs.trial_tasks(cfg, problem, W, None)
    n = problem.net.n_params
    rng = build_problem(cfg).probe_rng  # a fresh copy of the same stream
    signs = np.array([-1.0, 1.0])
    expected = [rng.choice(signs, size=(3, n))]
    theorem = rng.choice(signs, size=(4, n))
    expected += [rng.choice(signs, size=(3, n)) for _ in range(2)]
    assert [t.trial for t in tasks] == [0, 1, 2] and [t.theorem for t in tasks] == [True, False, False]
    for task, probes in zip(tasks, expected):
        np.testing.assert_array_equal(task.probes, probes)
    np.testing.assert_array_equal(tasks[0].theorem_signs, theorem)
    assert tasks[1].theorem_signs is None
    assert tasks[0].problem.probe_rng is None and tasks[0].settings.jobs is None


def test_hessian_diverged_trials_draw_nothing():
    cfg = _settings(trials=3, at="trained", init="small")
    problem = build_problem(cfg)
    W = sc.init_weights(problem.net, cfg.init, problem.init_rng, batch_shape=(cfg.trials,))
    tasks = hs.trial_tasks(cfg, problem, W, np.array([False, True, False]))
    rng = build_problem(cfg).probe_rng
    first, second = (rng.choice(np.array([-1.0, 1.0]), size=(3, problem.net.n_params)) for _ in range(2))
    assert [t.trial for t in tasks] == [0, 2] and not any(t.theorem for t in tasks)
    np.testing.assert_array_equal(tasks[0].probes, first)
    np.testing.assert_array_equal(tasks[1].probes, second)


def test_slq_with_given_vectors_equals_drawing_them():
    H = np.diag(np.linspace(-1.0, 2.0, 30))
    drawn = slq(lambda V: V @ H, 30, 12, 4, np.random.default_rng(5))
    given = slq(lambda V: V @ H, 30, 12, 4, vectors=np.random.default_rng(5).choice(np.array([-1.0, 1.0]), size=(4, 30)))
    for a, b in zip(drawn, given):
        np.testing.assert_array_equal(a, b)
