from sktnce import demo


def test_demo_runs_and_prints_its_table(capsys):
    demo.main(["--n-samples", "300", "--max-epochs", "2"])
    out = capsys.readouterr().out
    assert "raw features" in out and "TupleInfoNCE (uniform alpha)" in out
    assert "A^weak" in out
    assert "probe 1%" in out and "probe 10%" in out
    rows, names, chance, _ = demo.run(n_samples=300, max_epochs=2)
    assert names == ["strong", "medium", "weak"]
    assert [row["method"] for row in rows] == [
        "raw features", "TupleInfoNCE (uniform alpha)", "whole-tuple contrast (alpha=(1,0,0,0))"]
    assert all(0 <= row[f"probe {f:.0%}"] <= 1 for row in rows for f in demo.LABEL_FRACTIONS)
    assert 0 < chance < 1


def test_demo_probes_train_on_a_stratified_share_with_every_class():
    import numpy as np

    y = np.repeat(np.arange(8), 50)
    rows = demo._labelled(np.zeros((400, 1)), y, 0.01, random_state=0)
    assert len(rows) == 8 and set(y[rows]) == set(range(8))  # at least one row per class
    assert len(demo._labelled(np.zeros((400, 1)), y, 0.1, random_state=0)) == 40
