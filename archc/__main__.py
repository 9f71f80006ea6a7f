"""`python -m archc`: the same command line as the `archc` script."""

from archc.cli import main

if __name__ == "__main__":
    main(prog_name="archc")
