"""`python -m resnet_cli` entry point (the same as the `resnet-cli` script: `edge.main`)."""

from resnet_cli.edge import main

if __name__ == "__main__":
    main()
