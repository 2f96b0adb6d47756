from hearth.core.metrics import Histogram, Metrics, LATENCY_US


def test_histogram_buckets():
    h = Histogram((1, 10, 100))
    for v in (0, 1, 2, 10, 11, 100, 1000):
        h.add(v)
    assert h.counts == [2, 2, 2, 1]
    assert h.n == 7 and h.max == 1000
    assert h.quantile(0.5) == 10
    assert h.quantile(1.0) is None
    d = h.to_dict()
    assert d["buckets"][-1] == ["inf", 1]


def test_metrics_text_and_dict():
    m = Metrics()
    m.latency["detect"].add(1500.0)
    m.detection("okay_nabu", 0.97)
    m.overruns["detect"] += 1
    m.count("refused")
    d = m.to_dict()
    assert d["detections"] == {"okay_nabu": 1}
    assert d["overruns"]["detect"] == 1
    assert d["latency_us"]["detect"]["n"] == 1
    t = m.text()
    assert "okay_nabu=1" in t and "detect=1" in t and "refused=1" in t
    assert len(LATENCY_US) == len(m.latency["detect"].counts) - 1
