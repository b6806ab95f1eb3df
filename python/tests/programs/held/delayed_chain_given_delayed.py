"""The delayed chain of ``delayed_chain.py`` (``load -> featurize -> score`` per batch, 40 batches,
one ``collect``), written already fixed: the ~1.2 MB config dict is passed as
``dask.delayed(config)``, so the graph holds it once (one task whose value is the config) and every
chain task refers to it by key; the worker that ran that task holds the config until its dependents
have run. It has no ``fixed``: nothing is embedded twice, so ``graphprof rewrite`` and ``sample``
run it as given for every strategy, and graphprof predicts the same for all three."""
import dask
import numpy as np


def make_config():
    return {f"feature_{i}": i * 0.5 for i in range(10_000)}


def load(batch, config):
    rng = np.random.default_rng(batch)
    return rng.random(20_000) * len(config)


def featurize(raw, config):
    return raw * config["feature_7"] + config["feature_3"]


def score(features, config):
    return float(features.mean() / (1.0 + config["feature_1"]))


def collect(scores):
    return sum(scores)


def build(config, batches=40):
    scores = []
    for batch in range(batches):
        raw = dask.delayed(load)(batch, config)
        features = dask.delayed(featurize)(raw, config)
        scores.append(dask.delayed(score)(features, config))
    return dask.delayed(collect)(scores)


config = make_config()
result = build(dask.delayed(config))
