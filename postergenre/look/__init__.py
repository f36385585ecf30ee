"""The poster's look: palette, composition, their analysis and the per-genre atlas (and its build).

May import the top level, sources/ and model/; never compare/, catalog/, api/, commands/."""
