import numpy as np

from app.backend.sampling import spread_indices


def test_spread_indices_cover_the_range_evenly() -> None:
    assert spread_indices(10, 3).tolist() == [0, 4, 9]  # 4.5 rounds to even
    assert spread_indices(10, 2).tolist() == [0, 9]
    assert spread_indices(10, 1).tolist() == [0]
    assert spread_indices(4, 10).tolist() == [0, 1, 2, 3]  # never more than there are, no repeats
    assert spread_indices(10, 3, start=5).tolist() == [5, 7, 9]
    assert spread_indices(0, 5).size == 0 and spread_indices(5, 0).size == 0 and spread_indices(5, 3, start=5).size == 0
    picks = spread_indices(3000, 400)
    assert picks.dtype == np.int64 and len(np.unique(picks)) == 400 and picks[0] == 0 and picks[-1] == 2999
