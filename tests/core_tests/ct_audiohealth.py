from hearth.core.audiohealth import block_stats, classify


def test_classify():
    assert classify(block_stats([0] * 100)) == "silent"
    assert classify(block_stats([3, -4, 2] * 30)) == "silent"
    assert classify(block_stats([500] * 100)) == "stuck"
    assert classify(block_stats([32767, -32768] * 10 + list(range(-40, 40)))) == "clipping"
    good = [((i * 7919) % 201) - 100 for i in range(1600)]
    assert classify(block_stats(good)) == ""
    assert classify(block_stats([])) == ""


def test_stats_values():
    assert block_stats([1, 1, -32768, 5]) == (32768, 1, 1, 4)
