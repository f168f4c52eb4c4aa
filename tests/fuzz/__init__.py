"""The fuzz suite of issue 11: malformed scenario files and command lines, each run the way a user would."""
