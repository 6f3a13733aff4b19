"""Helpers shared by the table modules: the stdout console and number formatting."""

from __future__ import annotations

from resnet_cli.report import console, fmt  # noqa: F401  (re-exported: the one console and formatter)

WIDTH = 80  # every table must fit this many columns
