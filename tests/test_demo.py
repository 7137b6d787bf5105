from sktnce import demo


def test_demo_runs_and_prints_its_table(capsys):
    demo.main(["--n-samples", "300", "--max-epochs", "2"])
    out = capsys.readouterr().out
    assert "raw features" in out and "TupleInfoNCE (uniform alpha)" in out
    assert "A^weak" in out
    rows, names, chance, _ = demo.run(n_samples=300, max_epochs=2)
    assert names == ["strong", "medium", "weak"]
    assert all(0 <= row["probe"] <= 1 for row in rows)
    assert 0 < chance < 1
