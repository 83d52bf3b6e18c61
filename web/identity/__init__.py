"""Who is asking: the request's session and identity, and the proofs that make a claim trusted."""
