"""A dask.delayed chain: ``load -> featurize -> score`` per batch (40 batches), the same config dict
(10,000 str -> float, ~1.2 MB in memory) passed to every call, then one ``collect`` over all 40
scores. As given, each of the 120 chain tasks embeds its own copy of the config in its run_spec;
only ``collect``'s float is held, but the worker that runs ``collect`` keeps the run_specs (and the
copies) of the released ancestors it ran. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
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
result = build(config)
