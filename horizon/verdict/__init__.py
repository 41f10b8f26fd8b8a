"""The paper's test applied to any method (``horizon verdict``): is it better than random, at which layers, where
does it stop being better, what information it keeps, and does random pruning in the deep layers help it."""
