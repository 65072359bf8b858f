"""``python -m imagebot``: the same CLI as the ``imagebot`` console script."""

from imagebot.cli import main

if __name__ == "__main__":
    main()
