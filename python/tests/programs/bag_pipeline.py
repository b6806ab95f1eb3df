"""A dask.bag pipeline: records mapped with a weights dict, filtered, grouped."""
import dask.bag as db


def score(record, weights):
    return {"word": record["word"], "score": weights.get(record["word"], 0.0)}


weights = {f"w{i}": i / 3 for i in range(15_000)}
records = [{"word": f"w{i % 20_000}", "n": i} for i in range(8_000)]
bag = db.from_sequence(records, npartitions=32)
result = bag.map(score, weights).filter(lambda r: r["score"] > 1.0).pluck("score")

if __name__ == "__main__":
    print(result.sum().compute())
