"""One blueprint module per surface; each registers its routes and nothing else."""
