"""The seed's cifar example, exactly as the seed writes it, with only the import changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class _FakeKeras:
    """Stands in for ``tf.keras.datasets.cifar10.load_data`` (no downloads here): real-shaped
    uint8 32x32x3 images and (n, 1) labels, as Keras returns them."""

    @staticmethod
    def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng(10)
        x = rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, (1000, 1), dtype=np.uint8)
        return (x, y), (x, y)


def test_cifar_example_runs_as_the_seed_writes_it(store_dir: Path) -> None:
    import dsviz_widget as wandb  # the only change: the import

    class tf:  # mimics the module path the seed uses
        class keras:
            class datasets:
                cifar10 = _FakeKeras

    # --- the seed's code, verbatim ---
    classes = ['airplane', 'automobile', 'bird', 'cat',
               'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
    _, (x_test, y_test) = tf.keras.datasets.cifar10.load_data()

    wandb.init(job_type='create-dataset') # start tracking program execution

    # construct a table containing our dataset
    table = wandb.Table(('image', 'label'))
    for x, y in zip(x_test[:1000], y_test[:1000]):
        table.add_data(wandb.Image(x), classes[y[0]])

    # put the table in an artifact and save it
    dataset_artifact = wandb.Artifact('my-dataset', type='dataset')
    dataset_artifact.add(table, 'dataset')
    wandb.log_artifact(dataset_artifact)
    # --- end of the seed's code ---

    back = wandb.use_artifact("my-dataset:latest").get("dataset")
    assert back == table and len(back) == 1000
    assert np.array_equal(back.get_column("image")[5].to_numpy(), x_test[5])
    assert back.get_column("label")[5] == classes[y_test[5][0]]
    grouped = back.query(group_by="label", limit=20)
    assert int(grouped["count"].sum()) == 1000
