"""``map_blocks`` with a bound method of a model object: ``Model`` holds ~2 MB of numpy weights
(262,144 float64) and ``x.map_blocks(model.predict)`` over 40 chunks of 100,000. A bound method
carries its instance, so each of the 40 chunk tasks embeds its own copy of the model (and its
weights) in its run_spec, kept while the chunk (held) is. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.array as da
import numpy as np


class Model:
    def __init__(self, size=262_144):
        self.weights = np.linspace(-1.0, 1.0, size)
        self.bias = 0.5

    def predict(self, block):
        return block * self.weights[: block.shape[0]] + self.bias


def predict_with(block, model):
    return model.predict(block)


model = Model()
blocks = da.ones(40 * 100_000, chunks=100_000)
result = blocks.map_blocks(model.predict, dtype=float)
