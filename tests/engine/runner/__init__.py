"""Runner: the loop, the lock, agents, real runner processes."""
