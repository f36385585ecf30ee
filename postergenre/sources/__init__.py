"""Where posters come from: image decoding, URL fetching, the poster dataset, the TMDB client and its HTTP plumbing.

May import the top level (errors, genres, settings) only."""
