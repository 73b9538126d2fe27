"""Code generation: kernel source per target, from zk kernels to a runnable Program."""
