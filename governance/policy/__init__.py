"""Pure governance policy core: columnar snapshots, params, now and an RNG in; decisions out."""
