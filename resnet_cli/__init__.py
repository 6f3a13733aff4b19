"""resnet-cli: a command-line laboratory for the optimization theory of shortcut connections."""

__version__ = "0.1.0"
