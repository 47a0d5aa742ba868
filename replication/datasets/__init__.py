"""Datasets: MNIST (IDX, MD5-checked) and the TFD / face stand-in folds."""
