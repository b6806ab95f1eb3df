"""Delayed calls sharing one literal (a 256 KB blob passed to every call), summed at the end."""
import dask


@dask.delayed
def checksum(blob, i):
    return sum(blob[i::997])


@dask.delayed
def total(parts):
    return sum(parts)


blob = bytes(range(256)) * 1024
parts = [checksum(blob, i) for i in range(40)]
result = total(parts)

if __name__ == "__main__":
    print(result.compute())
