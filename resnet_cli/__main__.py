"""`python -m resnet_cli` entry point (the same as the `resnet-cli` script: `edge.main`)."""

try:  # a Ctrl-C while the edge itself imports: the edge's one line and exit 130 (resnet_cli/edge.py)
    from resnet_cli.edge import main
except KeyboardInterrupt:
    import os
    import sys

    sys.stderr.write("interrupted (Ctrl-C): stopped, nothing written\n")
    sys.stderr.flush()
    os._exit(130)

if __name__ == "__main__":
    main()
