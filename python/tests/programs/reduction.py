"""A mean/std reduction over a 2-d random array."""
import dask.array as da

x = da.random.default_rng(3).random((2_000, 2_000), chunks=(250, 250))
result = da.stack([x.mean(axis=0), x.std(axis=0)])

if __name__ == "__main__":
    print(result.compute()[:, :3])
