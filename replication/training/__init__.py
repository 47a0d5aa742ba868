"""How a model learns: losses, the objective registry, the loop, GAN state, schedules."""
