from hearth.core.quality import QualityMonitor


def test_unsure_detector_is_flagged_after_a_while():
    q = QualityMonitor(tau_s=10.0)
    for _ in range(50):
        low, _ = q.update(0.1, probs=[0.01, 0.02])
    assert not low
    for _ in range(100):            # 10 s hovering at 0.5
        low, _ = q.update(0.1, probs=[0.5, 0.0])
    assert low
    for _ in range(200):
        low, _ = q.update(0.1, probs=[0.0, 0.0])
    assert not low


def test_feature_range():
    q = QualityMonitor(feature_range=(10.0, 20.0), tau_s=1.0)
    assert q.update(0.1, feature_mean=15.0) == (False, False)
    for _ in range(100):
        _, out = q.update(0.1, feature_mean=40.0)
    assert out
    q2 = QualityMonitor()
    assert q2.update(0.1, feature_mean=1e9) == (False, False)   # no range configured
