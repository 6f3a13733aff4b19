"""`python -m resnet_cli` entry point."""

from resnet_cli.cli import main

if __name__ == "__main__":
    main()
