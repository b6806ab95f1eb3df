"""from_array of an in-memory numpy array (4 MB), scaled."""
import dask.array as da
import numpy as np

data = np.arange(500_000, dtype=np.float64).reshape(500, 1_000)
x = da.from_array(data, chunks=(125, 250))
result = x * 2 + 1

if __name__ == "__main__":
    print(result.sum().compute())
