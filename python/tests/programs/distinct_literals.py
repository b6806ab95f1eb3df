"""Delayed calls each with its own distinct 256 KB literal: the graph really is ~12 MB, the
large-graph warning must fire."""
import dask


@dask.delayed
def checksum(blob):
    return sum(blob[::4099])


@dask.delayed
def total(parts):
    return sum(parts)


parts = [checksum(bytes([i]) * 262_144) for i in range(48)]
result = total(parts)

if __name__ == "__main__":
    print(result.compute())
