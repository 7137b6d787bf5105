"""One fit on many processes, started by torchrun: every process runs this script.

    torchrun --standalone --nproc-per-node 2 fit_torchrun.py fusion.skt     # one machine
    torchrun --nnodes 2 --nproc-per-node 4 --rdzv-backend c10d \
        --rdzv-endpoint HOST:29500 fit_torchrun.py fusion.skt              # on each machine
"""

import sys

from sklearn.preprocessing import StandardScaler
from torch import distributed as dist

from sktnce import TupleInfoNCEFusion, save
from sktnce.datasets import make_multimodal_classification

# torchrun sets the rank, the world size and the rendezvous in the environment. On GPUs:
# "nccl", torch.cuda.set_device(int(os.environ["LOCAL_RANK"])) and device="cuda" below.
dist.init_process_group("gloo")
# Every process fits on the same whole table: here generated alike, in practice read from
# storage every machine reaches.
X, y, columns = make_multimodal_classification(n_samples=2000, random_state=0)
fusion = TupleInfoNCEFusion(
    modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
    batch_size=512,  # the global batch, shared among the processes
    max_epochs=5,
    n_processes="process_group",
    random_state=0,
).fit(X)
# Every process now holds the same fitted fusion, which needs no process group: one saves.
if dist.get_rank() == 0:
    save(fusion, sys.argv[1])
    print(f"saved; the fused vector has {fusion.transform(X).shape[1]} columns")
dist.destroy_process_group()
