"""Side-by-side comparison of several posters and its HTML/PNG report.

May import the top level, sources/, model/ and look/."""
