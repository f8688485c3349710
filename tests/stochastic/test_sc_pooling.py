import torch

from neuroemu.stochastic.pooling import (
    mux_avg_pool,
    segment_max_pool,
    segment_max_pool_block,
    sum_pool,
    windows,
)


def _one_window(series: list[list[int]]) -> torch.Tensor:
    """(L, 1, 2, 2, 1) tensor whose 2×2 window holds the four input series (row-major)."""
    t = torch.tensor(series).t()  # (L, 4)
    return t.view(-1, 1, 2, 2, 1)


def test_windows_order_is_row_major() -> None:
    x = torch.arange(16).view(1, 1, 4, 4, 1)
    assert windows(x)[0, 0, 0, 1, 0].tolist() == [2, 3, 6, 7]


def test_segment_max_pool_hand_worked() -> None:
    # segment 2: the first segment passes input 0; then the input with the largest count in the previous
    # segment (first one on ties)
    series = [[1, 0, 0, 0, 1, 1],
              [0, 1, 1, 1, 0, 0],
              [1, 1, 0, 0, 0, 0],
              [0, 0, 1, 1, 1, 1]]
    out = segment_max_pool(_one_window(series), 2).flatten().tolist()
    # seg0: input0 -> [1, 0]; counts [1,1,2,0] -> input 2 in seg1 -> [0, 0]; counts [0,2,0,2] -> input 1
    assert out == [1, 0, 0, 0, 0, 0]


def test_mux_avg_and_sum_pool() -> None:
    series = [[1, 1, 1], [0, 0, 0], [1, 0, 1], [0, 1, 0]]
    x = _one_window(series)
    assert mux_avg_pool(x, torch.tensor([0, 1, 3])).flatten().tolist() == [1, 0, 0]
    assert sum_pool(x).flatten().tolist() == [2, 2, 2]


def test_segment_max_pool_in_blocks_equals_one_pass() -> None:
    gen = torch.Generator().manual_seed(0)
    values = torch.randint(-5, 6, (45, 2, 4, 6, 3), generator=gen)  # 45 cycles: 9 segments of 5
    whole = segment_max_pool(values, 5)
    parts, previous = [], None
    for start in range(0, 45, 10):
        out, previous = segment_max_pool_block(values[start:start + 10], 5, previous)
        parts.append(out)
    assert torch.equal(torch.cat(parts), whole)
    # bfloat16 values, with a bound that lets their segment counts be summed in float32: the same choices
    halves = segment_max_pool_block(values.to(torch.bfloat16), 5, bound=5)[0]
    assert torch.equal(halves.to(torch.int64), whole)
