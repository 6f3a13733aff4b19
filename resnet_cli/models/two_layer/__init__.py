"""The two-layer non-overlapping convolutional network of Liu et al. 2019, all of its engine in one place.

- `population`: the population loss of Gaussian inputs in closed form, its gradients and Hessians, the
  global and spurious optima, teacher and initialization draws;
- `samples`: empirical losses of a fixed training set, minibatches and online SGD, any input law, stride s;
- `theorems`: Theorem 1's output (1) and the C1/C2 conditions along a recorded run;
- `states`: the GD states of a run by where its gradients come from (plane, stride, samples), as the
  factories `optim.run_gd` takes, and the inputs one step reads;
- `optim`: gradient descent with weight normalization and the two-stage step-size schedules (one driver,
  `resnet_cli/descent.py`'s `descend`), outcomes of a run;
- `flow`: the gradient flow of the same loss (an ODE solved by scipy);
- `landscape`: tangent Hessians, probing of degenerate points, the classification of critical points.

Nothing here imports from outside `resnet_cli.models` but the basic utilities (`descent`, `rng`).
"""
