"""``da.apply_gufunc`` (what xarray's ``apply_ufunc(dask="parallelized")`` calls) with a lookup
array keyword argument: an 800 KB float64 ndarray (100,000 values; under the 1e6 bytes
above which dask.array's ``normalize_arg`` would move it into a task of its own) that the function indexes with
each element of a (1,600 x 1,600)-int array in 8 x 8 = 64 chunks. Each of the 64 tasks embeds its
own copy of the lookup in its run_spec, kept while its chunk (held) is. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.array as da
import numpy as np


def make_lut():
    return np.sqrt(np.arange(100_000, dtype=float))


def translate(block, lut):
    return lut[block % lut.shape[0]]


codes = da.arange(1_600 * 1_600, chunks=200 * 1_600).reshape((1_600, 1_600)).rechunk((200, 200))
lut = make_lut()
result = da.apply_gufunc(translate, "()->()", codes, lut=lut, output_dtypes=float)
