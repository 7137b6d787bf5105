"""One fit on Ray Train's workers: TorchTrainer starts them and their process group.

    python fit_ray_train.py fusion.skt
"""

import os
import sys

import ray
import ray.train
from ray.train import RunConfig, ScalingConfig
from ray.train.torch import TorchConfig, TorchTrainer
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, save
from sktnce.datasets import make_multimodal_classification


def train_loop(config):
    # Every worker fits on the same whole table: here generated alike, in practice read
    # from storage every worker reaches.
    X, y, columns = make_multimodal_classification(n_samples=2000, random_state=0)
    fusion = TupleInfoNCEFusion(
        modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
        batch_size=512,  # the global batch, shared among the workers
        max_epochs=5,
        n_processes="process_group",  # the group TorchTrainer set up
        random_state=0,
    ).fit(X)
    if ray.train.get_context().get_world_rank() == 0:
        save(fusion, config["path"])


if __name__ == "__main__":
    ray.init(num_cpus=2)  # or ray.init(address="auto") on a running cluster
    trainer = TorchTrainer(
        train_loop,
        # Absolute: a worker runs in a folder of Ray's own.
        train_loop_config={"path": os.path.abspath(sys.argv[1])},
        scaling_config=ScalingConfig(num_workers=2, use_gpu=False),  # use_gpu=True: NCCL
        torch_config=TorchConfig(backend="gloo"),
        run_config=RunConfig(storage_path="/tmp/ray_results", name="sktnce_fit"),
    )
    trainer.fit()
    print("saved:", sys.argv[1])
